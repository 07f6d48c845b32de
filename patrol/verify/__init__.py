"""Before/after verification of cases: registration, comparison, evidence images.

Pure core: ``verify_images`` (images + cameras + box -> ``VerifyResult``). Edges (store, files):
``verify_case`` (one case on a later flight), ``verify_flight`` (the pipeline's verify stage: every
case a flight queued), ``compare_photos`` (two geotagged photos, ad hoc).
"""

from patrol.verify.compare import Inconclusive, Verdict
from patrol.verify.core import AlignedCrops, Verification, VerifyResult, verify_images
from patrol.verify.adhoc import compare_photos, verify_case_id
from patrol.verify.service import save_verification, sensitive_detector, verify_case, verify_flight

__all__ = [
    "AlignedCrops",
    "Inconclusive",
    "Verdict",
    "Verification",
    "VerifyResult",
    "compare_photos",
    "save_verification",
    "sensitive_detector",
    "verify_case",
    "verify_case_id",
    "verify_flight",
    "verify_images",
]
