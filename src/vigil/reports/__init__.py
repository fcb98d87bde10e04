"""Reports clinicians bring to a visit: the ambulatory glucose profile (AGP), home blood
pressure, the heart-failure weight diary. Read side: computed from stored readings with the
clinical vocabulary's ranges, goals and targets; the API serves them as JSON, pages and PDFs."""

from vigil.reports.agp import build_agp
from vigil.reports.clinic import SortKey, build_clinic_list
from vigil.reports.hf_weight import build_hf_weight
from vigil.reports.home_bp import build_home_bp
from vigil.reports.models import Agp, ClinicRow, HfWeight, HomeBp
from vigil.reports.render import STYLESHEET, render_agp, render_hf_weight, render_home_bp, to_pdf

__all__ = [
    "STYLESHEET",
    "Agp",
    "ClinicRow",
    "HfWeight",
    "HomeBp",
    "SortKey",
    "build_agp",
    "build_clinic_list",
    "build_hf_weight",
    "build_home_bp",
    "render_agp",
    "render_hf_weight",
    "render_home_bp",
    "to_pdf",
]
