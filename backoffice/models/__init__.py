"""All models, one module per aggregate; importing this package registers every table."""

from backoffice.models.api import ApiIdempotency, ApiToken
from backoffice.models.archive import ArchiveItem, ArchiveRecord
from backoffice.models.assessment import (
    AssessmentPolicy,
    DebtGrade,
    Scorecard,
    ScorecardLine,
)
from backoffice.models.audit import AuditAction, AuditLog
from backoffice.models.balance_archive import BalanceConfirmationArchive
from backoffice.models.balance_confirmation import (
    BalanceConfirmationAccess,
    BalanceConfirmationFile,
    BalanceConfirmationLine,
    BalanceConfirmationLink,
    BalanceConfirmationRequest,
    BalanceDispute,
    BalanceDisputeLine,
)
from backoffice.models.base import Base
from backoffice.models.calendar import CalendarDay, CalendarYear
from backoffice.models.case import (
    CaseCost,
    CaseMember,
    CaseReceivable,
    Collateral,
    CollectionAction,
    CollectionCase,
    DocumentRequirement,
    Instalment,
    Litigation,
    PaymentInKind,
    PaymentPromise,
    RepaymentPlan,
    WatchListEntry,
)
from backoffice.models.case_rules import CaseSubmission, ProposedMeasure, RefusalConsequence
from backoffice.models.case_steps import CustomerCollectionPlan, InformationRequest
from backoffice.models.contact import (
    CustomerContact,
    CustomerMail,
    CustomerMailOptOut,
    DunningPause,
    MailKind,
    MailStatus,
)
from backoffice.models.customer import CreditEvent, Customer
from backoffice.models.evidence import EvidenceDocument
from backoffice.models.job import JobRun
from backoffice.models.monthly import (
    ConfirmationForm,
    ConfirmationLine,
    ConfirmationLinePart,
    MonthlyReport,
    MonthlyRun,
    OverdueReason,
    ReportDispatch,
    Statement,
)
from backoffice.models.notification import Notification, Task
from backoffice.models.org import Company, SalesUnit
from backoffice.models.receivable import (
    ColumnMapping,
    Contract,
    ImportBatch,
    Payment,
    PaymentAllocation,
    Receivable,
)
from backoffice.models.setting import Setting, Target
from backoffice.models.user import HandOver, LoginThrottle, Role, RoleName, User
from backoffice.models.writeoff import (
    AccountabilityFinding,
    AccountabilityHold,
    ApprovalDecision,
    FindingParty,
    MaterialRequirement,
    RecourseEntry,
    Recovery,
    Sanction,
    WriteOffApplication,
    WriteOffItem,
)

__all__ = [name for name in dir() if not name.startswith("_")]
