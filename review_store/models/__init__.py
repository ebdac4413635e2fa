"""Tables of the store. Timestamps are naive UTC everywhere (NaiveDatetime), so SQLite and PostgreSQL compare
alike.

The tables live in one module per noun (people, traffic, judging, review, releases, governance); this
package re-exports them, so `from review_store.models import Trace` keeps working.
"""

from review_store.models.alerts import AlertDelivery, AlertRule, AlertState
from review_store.models.common import ROLES, json_field, metadata, text_field, utcnow
from review_store.models.evals import CheckResult, CheckRun
from review_store.models.governance import AuditEvent, MaturityAnswer, SavedView, Setting
from review_store.models.judging import JudgeConfig, JudgeRun, JudgeVerdict, Rubric
from review_store.models.people import (
    USERNAME_GUARD_DDL,
    USERNAME_PATTERN,
    BrowserSession,
    Credential,
    SignInThrottle,
    User,
)
from review_store.models.releases import Approval, Deployment, EvalRun, GatePolicy, Release
from review_store.models.review import (
    Adjudication,
    Assignment,
    GoldenExample,
    Label,
    ReviewItem,
    SamplingPolicy,
)
from review_store.models.traffic import GuardrailEvent, Trace, UserEscalation
from review_store.rollups.tables import (  # the rollup tables share this metadata
    PrunedTrace,
    RollupGuardrail,
    RollupTraffic,
    RollupValue,
    RollupVerdict,
)

__all__ = [
    "AlertDelivery",
    "AlertRule",
    "AlertState",
    "Adjudication",
    "Approval",
    "Assignment",
    "AuditEvent",
    "BrowserSession",
    "CheckResult",
    "CheckRun",
    "Credential",
    "Deployment",
    "EvalRun",
    "GatePolicy",
    "GoldenExample",
    "GuardrailEvent",
    "JudgeConfig",
    "JudgeRun",
    "JudgeVerdict",
    "Label",
    "MaturityAnswer",
    "PrunedTrace",
    "ROLES",
    "Release",
    "ReviewItem",
    "RollupGuardrail",
    "RollupTraffic",
    "RollupValue",
    "RollupVerdict",
    "Rubric",
    "SamplingPolicy",
    "SavedView",
    "Setting",
    "SignInThrottle",
    "Trace",
    "USERNAME_GUARD_DDL",
    "USERNAME_PATTERN",
    "User",
    "UserEscalation",
    "json_field",
    "metadata",
    "text_field",
    "utcnow",
]
