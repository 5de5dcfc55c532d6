"""The URIs of our identifier systems, code systems and extensions (docs/fhir.md).

URNs, not web addresses: they name things of this service and resolve nowhere.
"""

from __future__ import annotations

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.3.0"  # R4B: the financial resources used here are R4's

# Identifier systems.
RESIDENT_ID = "urn:settlecheck:sid:resident-id"  # 居民身份证号: only ever sent by the caller
PERSON_KEY = "urn:settlecheck:sid:person-key"  # our keyed hash of the ID number
HOSPITAL = "urn:settlecheck:sid:hospital"  # 定点医疗机构编码
VISIT = "urn:settlecheck:sid:visit"  # the HIS visit id (就诊ID / 住院号)
SETTLEMENT = "urn:settlecheck:sid:settlement"  # our settlement id
REVERSAL = "urn:settlecheck:sid:reversal"  # our reversal id

# Code systems.
FUND = "urn:settlecheck:cs:fund"  # our policies' fund types
CATEGORY = "urn:settlecheck:cs:category"  # registry categories (建档立卡, 低保, ...)
BILL_PART = "urn:settlecheck:cs:bill-part"  # in-policy and the three out-of-policy parts
DISEASE = "urn:settlecheck:cs:disease"  # the policy's designated diseases and packages (病种)
BENEFIT = "urn:settlecheck:cs:benefit"  # pay-after-treatment (先诊疗后付费)
WARNING = "urn:settlecheck:cs:warning"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
FINANCIAL_TASK = "http://hl7.org/fhir/financialtaskcode"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"

# Extensions.
EXT_SOURCE = "urn:settlecheck:ext:status-source"  # registry | cache | snapshot | unknown
EXT_AS_OF = "urn:settlecheck:ext:as-of"  # when the source said it
EXT_ACTUAL_RATIO = "urn:settlecheck:ext:actual-ratio"  # 实际报销比例
EXT_POLICY = "urn:settlecheck:ext:policy"  # policy region, version, hash

CURRENCY = "CNY"
