"""The OpenAPI document and the pages that show it, Swagger UI at /docs and ReDoc at /redoc,
with their scripts and styles served from the installed package.

FastAPI's defaults load both from a CDN, and hospital and county networks are often cut off
from the internet: there the pages came up blank. The assets come from `fastapi-offline`, a
maintained package that bundles them (its licence travels with it); nothing here reaches
outside the service, Google Fonts included.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from service.errors import NotFound

ASSETS_PATH = "/docs/assets"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
TITLE = "settlecheck API"
# The pages may load from the service alone, whatever a new version of the assets tries.
# Swagger UI starts from an inline script, and ReDoc styles inline and searches in a worker.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

router = APIRouter(include_in_schema=False)


class AssetNotFound(NotFound):
    code = "docs_asset_not_found"
    title = "No such documentation asset"


# ReDoc shows a badge it loads from cdn.redoc.ly: point it at our own icon instead.
_REWRITES = {
    "redoc.standalone.js": (
        (b"https://cdn.redoc.ly/redoc/logo-mini.svg", f"{ASSETS_PATH}/favicon.png".encode()),
    ),
}


@cache
def _asset(name: str) -> bytes:
    content = (files("fastapi_offline") / "static" / name).read_bytes()
    for outside, inside in _REWRITES.get(name, ()):
        content = content.replace(outside, inside)
    return content


@router.get("/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    page.headers["x-content-type-options"] = "nosniff"
    return page


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=TITLE,
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        # validatorUrl: None keeps Swagger UI from sending the document to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )
    return _confined(page)


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    page = get_redoc_html(
        openapi_url="/openapi.json",
        title=TITLE,
        redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
    return _confined(page)


@router.get(ASSETS_PATH + "/{name}")
async def asset(name: str) -> Response:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise AssetNotFound(f"no documentation asset {name[:40]!r}")
    return Response(
        _asset(name),
        media_type=media_type,
        headers={"cache-control": "public, max-age=86400"},
    )
