"""Tables. Whose data: a learner is (issuer, sub); a course is (issuer, deployment, context); progress,
attempts, lab work and certificates belong to (learner, course, module) — a ``module_records`` row.

Every table that holds learner data carries ``learner_id`` itself, so exporting or erasing one learner is
one query per table, with no joins to get wrong.
"""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no zone; PostgreSQL does)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Named constraints, so Alembic can alter them on both backends.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class Learner(Base):
    __tablename__ = "learners"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("issuer", "deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    # False when the launch had no context and the id was derived from its resource link.
    from_launch_context: Mapped[bool] = mapped_column(Boolean)
    title: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # Names and Role Provisioning (NRPS 2.0): where the platform lists the course's members.
    nrps_url: Mapped[str | None] = mapped_column(String(2048))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id", ondelete="SET NULL"))
    roster_fetched_at: Mapped[datetime | None]


class RosterMember(Base):
    """A course member as the platform's roster (NRPS) lists them, so students who never launched show up."""

    __tablename__ = "roster_members"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))  # the LTI sub
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    roles: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))


class ModuleRecord(Base):
    """A learner's work on one module in one course: the same quiz placed twice in a course is one record."""

    __tablename__ = "module_records"
    __table_args__ = (UniqueConstraint("learner_id", "course_id", "module_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class LessonView(Base):
    __tablename__ = "lesson_views"
    __table_args__ = (UniqueConstraint("record_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("module_records.id", ondelete="CASCADE"))
    lesson_id: Mapped[str] = mapped_column(String(64))
    first_viewed_at: Mapped[datetime]


class AttemptRow(Base):
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("record_id", "assessment_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("module_records.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)
    question_order: Mapped[list[str]] = mapped_column(JSON)
    option_order: Mapped[list[list[Any]]] = mapped_column(JSON)
    started_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    # Denormalised at submission, so reports need not re-grade: the engine's score, exactly.
    score_correct: Mapped[int | None] = mapped_column(Integer)
    score_total: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)


class AnswerRow(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    option_id: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime]


class Platform(Base):
    """An LMS registration. Keyed by issuer and client id: hosted Canvas uses one issuer for every customer."""

    __tablename__ = "platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    # The platform's JWKS as last fetched, shared by every web process until it expires. Deferred: each
    # process keeps the parsed keys in memory and reads this only when jwks_fetched_at says it changed.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    jwks_fetched_at: Mapped[datetime | None]
    jwks_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # This platform's own Learning Record Store and e-mail choice for xAPI; null: the tool's settings apply.
    lrs_endpoint: Mapped[str | None] = mapped_column(String(1024))
    lrs_username: Mapped[str | None] = mapped_column(String(255))
    lrs_password: Mapped[str | None] = mapped_column(String(255))
    xapi_actor_email: Mapped[bool | None] = mapped_column(Boolean)


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    # A deployment first seen in a launch is recorded inactive until an admin activates it.
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class ToolKey(Base):
    """The tool's own LTI signing keys; a retired key stays published until tokens signed with it expire."""

    __tablename__ = "tool_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    published_until: Mapped[datetime | None]


class OidcLogin(Base):
    """One OIDC login initiation: the state and nonce it issued, consumed by the one launch that answers it."""

    __tablename__ = "oidc_logins"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    target_link_uri: Mapped[str] = mapped_column(String(2048))
    storage_target: Mapped[str | None] = mapped_column(String(255))
    new_window: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Which way the browser proved it started this login: platform-storage, cookie or new-window.
    state_check: Mapped[str | None] = mapped_column(String(32))


class Placement(Base):
    """A resource link: where the tool is placed in a course, and what it shows there."""

    __tablename__ = "placements"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(64))  # "module" or a unit id: lesson-1, quiz-1, lab-1, module-test
    title: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # Assignment and Grade Services, as the latest launch offered them (LTI AGS 2.0 §3.1).
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id", ondelete="SET NULL"))
    ags_scopes: Mapped[list[str] | None] = mapped_column(JSON)
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(2048))
    ags_lineitem_url: Mapped[str | None] = mapped_column(String(2048))


class LaunchSession(Base):
    """The tool's session after a launch, referenced by a signed token rather than a cookie."""

    __tablename__ = "launch_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("module_records.id", ondelete="CASCADE"))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)  # the LaunchContext, as mapped at the edge
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class UrlTicket(Base):
    """A short-lived, single-use token for URLs a page cannot add a header to (server-sent events, downloads)."""

    __tablename__ = "url_tickets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("launch_sessions.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class EmulatorKey(Base):
    """The built-in LMS emulator's own signing keys (it is a platform, separate from the tool)."""

    __tablename__ = "emulator_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean)


class LabAttemptRow(Base):
    """A learner's work on one lab: one per (record, lab), kept across launches like every attempt."""

    __tablename__ = "lab_attempts"
    __table_args__ = (UniqueConstraint("record_id", "lab_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # also gen_ai.conversation.id
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("module_records.id", ondelete="CASCADE"), index=True)
    lab_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class LabExchangeRow(Base):
    """One learner message and the reply to it. The message is stored before the model is called (status
    ``pending``), so a crash mid-reply loses nothing the learner wrote."""

    __tablename__ = "lab_exchanges"
    __table_args__ = (UniqueConstraint("attempt_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("lab_attempts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending, done
    learner_message: Mapped[str] = mapped_column(Text)
    assistant_reply: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime]
    replied_at: Mapped[datetime | None]
    scenario_id: Mapped[str | None] = mapped_column(String(64))
    rubric_hits: Mapped[list[str]] = mapped_column(JSON, default=list)
    substantive: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(64))
    response_model: Mapped[str | None] = mapped_column(String(128))
    response_id: Mapped[str | None] = mapped_column(String(255))
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)  # USD, from the price table; None when unknown
    latency_ms: Mapped[float | None] = mapped_column(Float)
    first_chunk_ms: Mapped[float | None] = mapped_column(Float)
    fallback_reason: Mapped[str | None] = mapped_column(Text)


class LabTraceRow(Base):
    """The span tree of the request that produced a reply, for the student's "Your trace" view. Kept apart from
    the transcript because spans have their own retention period."""

    __tablename__ = "lab_traces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("lab_exchanges.id", ondelete="CASCADE"), unique=True)
    trace_id: Mapped[str] = mapped_column(String(32))
    tree: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """Something the tool must tell the outside world (a gradebook score, an xAPI statement), written in the
    same transaction as the event that causes it and retried until the other side accepts it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # also the delivery order
    key: Mapped[str] = mapped_column(String(255), unique=True)  # stable: resending is harmless
    channel: Mapped[str] = mapped_column(String(16))
    # Messages with one ordering key go out in id order; a newer one supersedes an undelivered older one.
    ordering_key: Mapped[str] = mapped_column(String(512), index=True)
    destination: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, dead, superseded, not-gradable
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    delivered_by: Mapped[str | None] = mapped_column(String(64))
    # The W3C traceparent of the request that queued the message, so its delivery joins that trace.
    trace_context: Mapped[str | None] = mapped_column(String(64))


class WorkerLease(Base):
    """On SQLite exactly one outbox worker runs at a time: whoever holds the unexpired lease."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class EmulatorLineItem(Base):
    """A gradebook column in the LMS emulator (AGS line item)."""

    __tablename__ = "emulator_line_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    context_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    resource_id: Mapped[str | None] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]


class EmulatorScore(Base):
    """A score the emulator's gradebook received, kept as sent (the gradebook shows the latest)."""

    __tablename__ = "emulator_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("emulator_line_items.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(32))
    grading_progress: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]


class RegistrationLink(Base):
    """A one-time link an admin gives an LMS for LTI Dynamic Registration: without one, ``/lti/register``
    refuses, so nobody can register a platform with the tool on their own. Only the token's hash is kept."""

    __tablename__ = "registration_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The registration the link made, for the admin's record.
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id", ondelete="SET NULL"))


class EmulatorToolRegistration(Base):
    """A tool registered with the LMS emulator by LTI Dynamic Registration: the client id and deployment id
    it was given, and the client metadata it sent."""

    __tablename__ = "emulator_tool_registrations"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    deployment_id: Mapped[str] = mapped_column(String(64))
    # The registration token's id: a token registers one tool only.
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class AdminAccount(Base):
    """A tool admin: a local account, separate from LTI roles (an LMS's Administrator runs one platform, not
    the tool)."""

    __tablename__ = "admin_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Copied into the admin's session cookie and replaced on logout or a new password: that ends every copy
    # of the (client-side) cookie at once.
    session_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class AdminLoginFailure(Base):
    """A failed admin login, kept for the rate limit's window; in the database so every web process sees it."""

    __tablename__ = "admin_login_failures"
    __table_args__ = (Index("ix_admin_login_failures_remote_addr_at", "remote_addr", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255))  # as typed: unknown names count too
    remote_addr: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)


class AdminAudit(Base):
    """What a tool admin did, when, from where. The username is copied so the trail outlives the account."""

    __tablename__ = "admin_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admin_username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)


class PlacementSettings(Base):
    """An instructor's settings for one placement, over the module's defaults (None keeps the default)."""

    __tablename__ = "placement_settings"

    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id", ondelete="CASCADE"), primary_key=True)
    test_attempts: Mapped[int | None] = mapped_column(Integer)
    show_correct_answers: Mapped[str | None] = mapped_column(String(32))
    score_policy: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class AttemptGrant(Base):
    """Extra module-test attempts an instructor granted one student."""

    __tablename__ = "attempt_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("module_records.id", ondelete="CASCADE"), index=True)
    extra: Mapped[int] = mapped_column(Integer)
    granted_at: Mapped[datetime]


class InstructorAudit(Base):
    """Who changed what in a course: settings and per-student overrides."""

    __tablename__ = "instructor_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    # The student an entry is about, named when the trail is shown (not copied into ``detail``), so erasing
    # them leaves "what was done" and no name; NULL for course-wide entries and once the student is erased.
    subject_learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"), index=True)


class EmulatorPlacement(Base):
    """A link an instructor added to the LMS emulator's course by deep linking (LTI Deep Linking 2.0)."""

    __tablename__ = "emulator_placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    resource_link_id: Mapped[str] = mapped_column(String(255), unique=True)
    # The deep-linking request the tool answered: the emulator accepts one answer per request.
    deep_link_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(64))  # the link's tracebook_unit custom parameter
    url: Mapped[str] = mapped_column(String(2048))
    line_item_id: Mapped[int | None] = mapped_column(ForeignKey("emulator_line_items.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class CredentialKey(Base):
    """The keys that sign certificates (VC-JWT), apart from the LTI keys: a credential must verify for years,
    so a retired key stops signing but stays in the issuer's published key set for good."""

    __tablename__ = "credential_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class CertificateRow(Base):
    """A certificate issued for passing the module test. It outlives its holder's data: erasure clears the
    name, the credential and the PDF and revokes it, so its verification page still answers (without them)."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("learner_id", "course_id", "module_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # short and URL-safe: the verification URL
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"), index=True)
    module_id: Mapped[str] = mapped_column(String(64))
    attempt_id: Mapped[str | None] = mapped_column(String(64))  # not a key: attempts may be erased
    version: Mapped[int] = mapped_column(Integer)
    holder_name: Mapped[str | None] = mapped_column(String(255))
    module_title: Mapped[str] = mapped_column(String(255))
    issuer_name: Mapped[str] = mapped_column(String(255))
    score_correct: Mapped[int] = mapped_column(Integer)
    score_total: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime]
    credential_jwt: Mapped[str | None] = mapped_column(Text)
    credential_sha256: Mapped[str | None] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(64))
    pdf_path: Mapped[str | None] = mapped_column(String(255))  # relative to the storage folder
    pdf_rendered_at: Mapped[datetime | None]
    superseded_by: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(255))


class DeliveredStatement(Base):
    """Which of a learner's xAPI statements an LRS accepted, kept after retention removes the outbox row (and the
    statement with it): erasure must still void them there (xAPI 1.0.3 §2.3.2)."""

    __tablename__ = "delivered_statements"

    statement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[int | None] = mapped_column(Integer)  # whose LRS has it (None: the tool's own LRS)
    delivered_at: Mapped[datetime]


class MaintenanceRun(Base):
    """When a periodic job (the retention purge) last ran, so any number of workers run it once per period."""

    __tablename__ = "maintenance_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime]
