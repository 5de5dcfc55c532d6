"""An NHSA-style interface (国家医保信息平台 message envelope, transactions 1101, 2401/2404,
2303/2304/2305, 3101, 3201) over the same admission, person, settlement and clearing services
as the JSON API: it translates messages and answers, and implements no rule of its own
(docs/nhsa.md, ADR 0015).
"""
