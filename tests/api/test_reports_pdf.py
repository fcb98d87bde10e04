"""The reports as HTML and PDF: one A4 page, made by WeasyPrint from the page's HTML, read back
as text (pdftotext) and as an image (pdftoppm), in Korean and English."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
from PIL import Image

from tests.api.conftest import World
from tests.api.test_reports_agp import END, START, cgm_trace, insert
from tests.api.test_reports_home_bp import cuff_week
from tests.api.test_reports_home_bp import insert as insert_bp

HANGUL = re.compile("[가-힣]")
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    match = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
    assert match is not None
    return int(match.group(1))


def first_page_png(pdf: bytes, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path),
         str(tmp_path / name)],
        check=True,
    )  # fmt: skip
    return tmp_path / f"{name}.png"


def test_the_agp_pdf_is_one_a4_page_with_the_tir_in_both_languages(
    world: World, client: httpx.Client, tmp_path: Path
) -> None:
    insert(world, world.a.patient, cgm_trace())
    url = f"/api/v1/patients/{world.a.patient}/reports/agp"
    nurse = world.headers("clinician")
    tir = client.get(url, params=PERIOD, headers=nurse).json()["time_in_ranges"]["70_180"]
    figure = f"{100 * tir:.0f}%"

    en = client.get(url, params=PERIOD | {"format": "pdf", "lang": "en"}, headers=nurse)
    assert en.status_code == 200, en.text
    assert en.headers["content-type"] == "application/pdf"
    assert en.content.startswith(b"%PDF-")
    assert pages(en.content, tmp_path) == 1
    text = pdf_text(en.content, tmp_path)
    assert "Ambulatory glucose profile" in text
    assert "In range (70–180 mg/dL)" in text
    assert re.search(rf"\s{re.escape(figure)}\s", text), text
    assert "Clinic A patient" in text

    ko = client.get(url, params=PERIOD, headers=nurse | {"Accept": "application/pdf",
                                                         "Accept-Language": "ko"})  # fmt: skip
    assert ko.headers["content-type"] == "application/pdf"
    assert ko.headers["content-language"] == "ko"
    text = pdf_text(ko.content, tmp_path)
    assert "연속혈당 프로파일" in text
    assert "목표 범위" in text
    assert re.search(rf"\s{re.escape(figure)}\s", text), text

    # The image: an A4 page (portrait, 1:1.414), drawn (the profile's blue, the range's green).
    png = Image.open(first_page_png(ko.content, tmp_path, "agp")).convert("RGB")
    width, height = png.size
    assert abs(height / width - 297 / 210) < 0.01
    colours = png.getcolors(maxcolors=1 << 20)
    assert colours is not None
    blue = sum(n for n, (r, g, b) in colours if b > 150 and r < 120)
    green = sum(n for n, (r, g, b) in colours if g > 100 and r < 80 and b < 80)
    assert blue > 500
    assert green > 20


def test_the_html_is_the_pdfs_and_says_the_same(world: World, client: httpx.Client) -> None:
    insert(world, world.a.patient, cgm_trace())
    url = f"/api/v1/patients/{world.a.patient}/reports/agp"
    nurse = world.headers("clinician")
    body = client.get(url, params=PERIOD, headers=nurse).json()
    html = client.get(url, params=PERIOD | {"format": "html", "lang": "en"}, headers=nurse)
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.startswith('<article class="report agp" lang="en">')
    shown = re.search(r'data-range="70_180">([^<]+)<', html.text)
    assert shown is not None
    assert shown.group(1) == f"{100 * body['time_in_ranges']['70_180']:.0f}%"
    assert html.text.count('class="agp-day"') == 14
    assert "<script" not in html.text


def test_a_patients_name_is_text_in_the_report_not_markup(
    world: World, client: httpx.Client
) -> None:
    with world.conn() as conn:
        conn.execute(
            "UPDATE patients SET display_name = %s WHERE id = %s",
            ('<img src=x onerror="alert(1)">', world.a.patient),
        )
    url = f"/api/v1/patients/{world.a.patient}/reports/agp"
    html = client.get(url, params={"format": "html"}, headers=world.headers("clinician")).text
    assert "<img" not in html
    assert "&lt;img src=x" in html


def test_the_home_bp_pdf(world: World, client: httpx.Client, tmp_path: Path) -> None:
    from tests.api.test_reports_home_bp import END as BP_END
    from tests.api.test_reports_home_bp import START as BP_START

    insert_bp(world, world.a.patient, cuff_week())
    url = f"/api/v1/patients/{world.a.patient}/reports/home-bp"
    period = {"start": BP_START.isoformat(), "end": BP_END.isoformat()}
    nurse = world.headers("clinician")
    overall = client.get(url, params=period, headers=nurse).json()["overall"]
    r = client.get(url, params=period | {"format": "pdf"}, headers=nurse)
    assert r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content, tmp_path)
    assert HANGUL.search(text)
    assert f"{overall['systolic']:.0f}/{overall['diastolic']:.0f}" in text
    assert "가정혈압" in text


def test_pdfs_are_scoped(world: World, client: httpx.Client) -> None:
    url = f"/api/v1/patients/{world.a.patient}/reports/agp"
    for who, tenant in (("outsider", "a"), ("clinician", "b")):
        r = client.get(url, params={"format": "pdf"}, headers=world.headers(who, tenant))
        assert r.status_code == 404
        assert not r.content.startswith(b"%PDF")


def test_the_hf_weight_pdf_is_one_a4_page_with_the_patients_weights(
    world: World, client: httpx.Client, tmp_path: Path
) -> None:
    from tests.api.test_reports_hf_weight import START as HF_START
    from tests.api.test_reports_hf_weight import heart_failure, steady_then_gaining, weigh

    heart_failure(world, world.a.patient)
    weigh(world, world.a.patient,
          [(HF_START + timedelta(days=d), kg) for d, kg in steady_then_gaining()])  # fmt: skip
    url = f"/api/v1/patients/{world.a.patient}/reports/hf-weight"
    period = {"start": (HF_START + timedelta(days=10)).isoformat(),
              "end": (HF_START + timedelta(days=40)).isoformat()}  # fmt: skip
    nurse = world.headers("clinician")
    body = client.get(url, params=period, headers=nurse).json()
    usual = f"{body['usual'][-1]['usual_kg']:.1f} kg"

    en = client.get(url, params=period | {"format": "pdf", "lang": "en"}, headers=nurse)
    assert en.status_code == 200, en.text
    assert en.headers["content-type"] == "application/pdf"
    assert pages(en.content, tmp_path) == 1
    text = pdf_text(en.content, tmp_path)
    for words in ("Heart-failure weight diary", "Clinic A patient", "84.0 kg", usual,
                  "+2.5 kg in 3 days", "above usual", "a gain of 2 kg within 3 days"):  # fmt: skip
        assert words in text, (words, text)

    ko = client.get(url, params=period, headers=nurse | {"Accept": "application/pdf",
                                                         "Accept-Language": "ko"})  # fmt: skip
    assert ko.headers["content-language"] == "ko"
    text = pdf_text(ko.content, tmp_path)
    for words in ("심부전 체중 일지", "평소 체중", "84.0 kg", usual, "3일 내 +2.5 kg",
                  "3일 내 2 kg"):  # fmt: skip
        assert words in text, (words, text)

    # The image: an A4 page with the weights drawn (blue), the usual weight's band (pale
    # green) and the rules that fired (red).
    png = Image.open(first_page_png(ko.content, tmp_path, "hf")).convert("RGB")
    width, height = png.size
    assert abs(height / width - 297 / 210) < 0.01
    colours = png.getcolors(maxcolors=1 << 20)
    assert colours is not None
    blue = sum(n for n, (r, g, b) in colours if b > 120 and r < 60 and g < 110)
    band = sum(n for n, (r, g, b) in colours if (r, g, b) == (0xE8, 0xF5, 0xE9))
    red = sum(n for n, (r, g, b) in colours if r > 150 and g < 80 and b < 80)
    assert blue > 100
    assert band > 2_000
    assert red > 20

    # Three months still print on one page (the diary in columns).
    three = {"start": (HF_START - timedelta(days=50)).isoformat(), "end": period["end"]}
    long = client.get(url, params=three | {"format": "pdf"}, headers=nurse)
    assert pages(long.content, tmp_path) == 1
