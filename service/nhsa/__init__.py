"""An NHSA-style interface (国家医保信息平台 message envelope, transactions 1101, 2401/2404,
2303/2304/2305, 3101) over the same admission, person and settlement services as the JSON API:
it translates messages and answers, and implements no rule of its own (docs/nhsa.md, ADR 0015).
"""
