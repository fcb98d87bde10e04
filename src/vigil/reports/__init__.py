"""Reports clinicians bring to a visit: the ambulatory glucose profile (AGP), home blood
pressure, the heart-failure weight diary. Read side: computed from stored readings with the
clinical vocabulary's ranges, goals and targets; the API serves them as JSON, pages and PDFs."""

from vigil.reports.agp import build_agp, default_period
from vigil.reports.models import Agp

__all__ = ["Agp", "build_agp", "default_period"]
