"""The admin console's messages: every key its scripts name (``admin.m("...")``, which the
catalogue test of the shared pages does not read) and every value of the closed lists the
pages show (conditions, roles, device kinds: named once for every page; severities) is in
Korean and English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from vigil.api.access import Role
from vigil.api.models import DeviceKind, SeverityName
from vigil.api.web import i18n
from vigil.core.conditions import Condition

WEB = Path(i18n.__file__).parent


def test_every_key_the_admin_scripts_and_lists_need_is_in_both_languages() -> None:
    en, ko = i18n.catalogue("en"), i18n.catalogue("ko")
    admin_en = {k for k in en if k.startswith("admin.")}
    assert admin_en == {k for k in ko if k.startswith("admin.")}
    named: set[str] = set()
    for script in (WEB / "static").glob("admin*.js"):
        found = re.findall(r'admin\.m\("([a-z_.]+[a-z_])"', script.read_text())
        named |= {"admin." + k for k in found}
    for page in (WEB / "templates" / "admin").glob("*.html"):
        named |= set(re.findall(r"t\('(admin\.[a-z_.]+[a-z_])'\)", page.read_text()))
    assert len(named) > 100
    assert named - admin_en == set()
    lists = {
        "severity": list(get_args(SeverityName)),
        "nav": ["users", "teams", "patients", "devices", "webhooks", "audit"],
    }
    for prefix, values in lists.items():
        assert {f"admin.{prefix}.{v}" for v in values} <= admin_en, prefix
    # Conditions, roles and device kinds are named once for every page (common.*).
    shared = {
        "condition_": [c.value for c in Condition],
        "role_": [r.value for r in Role],
        "device_kind_": list(get_args(DeviceKind)),
    }
    for lang in ("en", "ko"):
        words = i18n.catalogue(lang)
        for prefix, values in shared.items():
            assert {f"common.{prefix}{v}" for v in values} <= set(words), (lang, prefix)
    assert i18n.translate("ko", "common.role_clinician") == "간호사"  # one word for the role
    assert i18n.translate("ko", "admin.devices.revoked", id="ox-1") == "ox-1 기기를 폐기했습니다."
    assert i18n.translate("ko", "admin.nav.audit") == "감사 로그"
