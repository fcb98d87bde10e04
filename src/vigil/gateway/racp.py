"""The Record Access Control Point (0x2A52): asking a glucose meter for its stored records.

A request is an op code, an operator and an operand; the gateway asks "report stored records"
with "all records" the first time and "greater than or equal to" sequence number (filter type
0x01) after the last record it kept. The meter answers each request with a Response Code
indication: op code 6, operator 0, the request's op code, a response value.
"""

from __future__ import annotations

REPORT_STORED_RECORDS = 0x01
RESPONSE_CODE = 0x06
OPERATOR_ALL = 0x01
OPERATOR_AT_LEAST = 0x03
FILTER_SEQUENCE_NUMBER = 0x01
SUCCESS = 0x01
NO_RECORDS_FOUND = 0x06
RESPONSES = {
    1: "success",
    2: "op code not supported",
    3: "invalid operator",
    4: "operator not supported",
    5: "invalid operand",
    6: "no records found",
    7: "abort unsuccessful",
    8: "procedure not completed",
    9: "operand not supported",
}


def report_request(after: int | None) -> bytes:
    """All stored records (``after`` None), or those from sequence number ``after + 1``."""
    if after is None:
        return bytes([REPORT_STORED_RECORDS, OPERATOR_ALL])
    return bytes([REPORT_STORED_RECORDS, OPERATOR_AT_LEAST, FILTER_SEQUENCE_NUMBER]) + (
        (after + 1) & 0xFFFF
    ).to_bytes(2, "little")


def parse_request(value: bytes) -> tuple[int, int, int | None]:
    """(op code, operator, the sequence-number operand or None): the simulated meter's side."""
    op, operator = value[0], value[1] if len(value) > 1 else 0
    low = None
    if operator == OPERATOR_AT_LEAST and len(value) >= 5 and value[2] == FILTER_SEQUENCE_NUMBER:
        low = int.from_bytes(value[3:5], "little")
    return op, operator, low


def parse_response(value: bytes) -> tuple[int, int] | None:
    """(request op code, response value) of a Response Code indication, else None."""
    if len(value) >= 4 and value[0] == RESPONSE_CODE:
        return value[2], value[3]
    return None
