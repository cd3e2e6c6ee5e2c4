"""A launch, from the platform's POST to the tool's session: validate, prove the browser started this login
(LTI Platform Storage, a cookie, or a cookie in a new window), then record the learner, course, placement
and session. Only safe facts are written before a refusal (the login is spent, an unknown deployment is
recorded inactive, fetched keys are cached), so the view commits refused launches too."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from content import Module
from lms_plugin.clock import Clock
from lms_plugin.config import Settings
from lms_plugin.lti.context import WHOLE_MODULE, LaunchContext, launch_context
from lms_plugin.lti.deep_linking import DeepLinkRequest, deep_link_request, is_deep_linking
from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.lti.login import STATE_COOKIE_PREFIX, origin_of
from lms_plugin.lti.platform_directory import PlatformDirectory, PlatformInfo
from lms_plugin.lti.platform_keys import PlatformKeys
from lms_plugin.lti.sessions import SessionService
from lms_plugin.lti.tool_config import DatabaseToolConf
from lms_plugin.lti.validation import RELAUNCH, ToolMessageLaunch
from lms_plugin.models import Course, Deployment, Learner, ModuleRecord, OidcLogin, Placement
from lms_plugin.services.deep_linking import DeepLinkingService
from lms_plugin.services.records import CourseIdentity, LearnerIdentity, RecordService

STORAGE_CHECK_LIFETIME = 120  # seconds the launch page has to answer with the state from Platform Storage


class StateCheck:
    PLATFORM_STORAGE = "platform-storage"
    COOKIE = "cookie"
    NEW_WINDOW = "new-window"


@dataclass(frozen=True)
class _Ids:
    learner: int
    course: int
    record: int
    placement: int


@dataclass(frozen=True)
class CompletedLaunch:
    token: str
    unit: str
    state_check: str
    context: LaunchContext


@dataclass(frozen=True)
class CompletedDeepLink:
    """An instructor's deep-linking request, validated like a launch: the picker opens with this token."""

    token: str
    state_check: str


@dataclass(frozen=True)
class StorageCheck:
    """The launch is valid; the browser must still show it holds this login's state in Platform Storage."""

    handle: str
    state: str
    storage_target: str
    platform_origin: str


class LaunchService:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        clock: Clock,
        keys: PlatformKeys,
        directory: PlatformDirectory,
        module: Module,
    ) -> None:
        self.session = session
        self.directory = directory
        self.settings = settings
        self.clock = clock
        self.now = clock.now()
        self.keys = keys
        self.module = module
        self.handles = URLSafeTimedSerializer(settings.secret_key, salt="tracebook-launch-handle")

    def _login(self, state: str | None) -> OidcLogin:
        if not state:
            raise LaunchRefusedError("The launch has no state parameter.", RELAUNCH)
        login = self.session.get(OidcLogin, state, with_for_update=True)
        if login is None:
            raise LaunchRefusedError("The launch's state does not match any login started by this tool.", RELAUNCH)
        if login.used_at is not None:
            raise LaunchRefusedError(
                "This login was already answered by a launch; a launch cannot be replayed.", RELAUNCH
            )
        login.used_at = self.now
        return login

    def _check_deployment(self, platform: PlatformInfo, deployment_id: str) -> None:
        if self.directory.is_active(self.session, platform.id, deployment_id, self.now):
            return
        known = self.session.scalar(
            select(Deployment.id).where(
                Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id
            )
        )
        if known is None:
            self.session.add(
                Deployment(platform_id=platform.id, deployment_id=deployment_id, active=False, created_at=self.now)
            )
        raise LaunchRefusedError(
            f"Deployment {deployment_id} of {platform.name} is not active in this tool yet.",
            f"A tool admin activates it with: tracebook platform activate --issuer {platform.issuer} "
            f"--client-id {platform.client_id} --deployment-id {deployment_id}",
            status=403,
        )

    def _check_unit(self, context: LaunchContext) -> None:
        units = {unit.id for unit in self.module.units}
        if context.unit != WHOLE_MODULE and context.unit not in units:
            raise LaunchRefusedError(
                f"This placement asks for '{context.unit}', which the module does not have.",
                f"Set the link's custom parameter tracebook_unit to 'module' or one of: {', '.join(sorted(units))}.",
            )

    def launch(
        self, form: Mapping[str, str], cookies: Mapping[str, str]
    ) -> CompletedLaunch | CompletedDeepLink | StorageCheck:
        # One flush at the end writes the spent login with its outcome, instead of an UPDATE per change.
        with self.session.no_autoflush:
            return self._launch(form, cookies)

    def _launch(
        self, form: Mapping[str, str], cookies: Mapping[str, str]
    ) -> CompletedLaunch | CompletedDeepLink | StorageCheck:
        if not form.get("id_token"):
            raise LaunchRefusedError(
                "This is not an LTI launch: the request carries no id_token.", "Start the activity from your course."
            )
        login = self._login(form.get("state"))
        validator = ToolMessageLaunch(form, DatabaseToolConf(self.session, self.directory, self.now), self.keys)
        platform, client_id, payload = validator.verify(login, self.now, self.settings.lti_leeway)
        target: LaunchContext | DeepLinkRequest
        if is_deep_linking(payload):
            target = deep_link_request(payload, client_id)  # refuses anyone but instructors
            self._check_deployment(platform, target.deployment_id)
        else:
            target = launch_context(payload, client_id)
            self._check_deployment(platform, target.deployment_id)
            self._check_unit(target)

        if login.storage_target:
            carried = "deep_link" if isinstance(target, DeepLinkRequest) else "context"
            handle = self.handles.dumps({"state": login.state, carried: target.to_json()})
            return StorageCheck(
                handle=handle,
                state=login.state,
                storage_target=login.storage_target,
                platform_origin=origin_of(platform.auth_login_url),
            )
        if cookies.get(STATE_COOKIE_PREFIX + login.state) != login.state:
            raise LaunchRefusedError(
                "Your browser did not keep the login's state: cookies for this tool seem to be blocked in the "
                "LMS frame.",
                "Open the activity again from your course; the tool will offer to open in a new window.",
            )
        return self._finish(login, target, StateCheck.NEW_WINDOW if login.new_window else StateCheck.COOKIE)

    def confirm(self, handle: str, stored_state: str | None) -> CompletedLaunch | CompletedDeepLink:
        """Finish a Platform Storage launch with the state the launch page read back from the platform."""
        try:
            data = self.handles.loads(handle, max_age=STORAGE_CHECK_LIFETIME)
        except SignatureExpired as error:
            raise LaunchRefusedError("The launch took too long to finish.", RELAUNCH) from error
        except BadSignature as error:
            raise LaunchRefusedError("The launch confirmation is not one this tool issued.", RELAUNCH) from error
        login = self.session.get(OidcLogin, data["state"], with_for_update=True)
        if login is None or login.state_check is not None:
            raise LaunchRefusedError("This launch was already finished.", RELAUNCH)
        if stored_state != login.state:
            raise LaunchRefusedError(
                "The platform's storage does not hold this login's state, so this browser did not start it.",
                RELAUNCH,
            )
        target = (
            DeepLinkRequest.from_json(data["deep_link"])
            if "deep_link" in data
            else LaunchContext.from_json(data["context"])
        )
        return self._finish(login, target, StateCheck.PLATFORM_STORAGE)

    def _finish(
        self, login: OidcLogin, target: LaunchContext | DeepLinkRequest, state_check: str
    ) -> CompletedLaunch | CompletedDeepLink:
        if isinstance(target, LaunchContext):
            return self._complete(login, target, state_check)
        login.state_check = state_check
        lifetime = timedelta(seconds=self.settings.session_lifetime)
        token = DeepLinkingService(self.settings.secret_key, self.module, self.now, lifetime).open(target)
        return CompletedDeepLink(token=token, state_check=state_check)

    def _returning(self, context: LaunchContext, course: CourseIdentity) -> _Ids | None:
        """The ids of a learner who launched this placement before with the same details: one query
        instead of four (most launches are returning students)."""
        row = self.session.execute(
            select(
                Learner.id,
                Learner.name,
                Learner.email,
                Course.id,
                Course.title,
                ModuleRecord.id,
                Placement.id,
                Placement.unit,
                Placement.title,
                Placement.ags_lineitems_url,
                Placement.ags_lineitem_url,
                Placement.ags_scopes,
                Course.nrps_url,
            )
            .select_from(Learner)
            .join(
                Course,
                and_(
                    Course.issuer == course.issuer,
                    Course.deployment_id == course.deployment_id,
                    Course.context_id == course.scope_id,
                ),
            )
            .join(
                ModuleRecord,
                and_(
                    ModuleRecord.learner_id == Learner.id,
                    ModuleRecord.course_id == Course.id,
                    ModuleRecord.module_id == self.module.id,
                ),
            )
            .join(
                Placement, and_(Placement.course_id == Course.id, Placement.resource_link_id == course.resource_link_id)
            )
            .where(Learner.issuer == context.issuer, Learner.sub == context.sub)
        ).one_or_none()
        if row is None:
            return None
        learner_id, name, email, course_id, title, record_id, placement_id, unit, link_title, *services = row
        same = (
            services == [context.ags_lineitems, context.ags_lineitem, list(context.ags_scopes), context.nrps_url]
            and context.name in (None, name)
            and context.email in (None, email)
            and course.title in (None, title)
            and context.unit == unit
            and context.resource_link_title in (None, link_title)
        )
        return _Ids(learner_id, course_id, record_id, placement_id) if same else None

    def _record(self, context: LaunchContext, course_identity: CourseIdentity, platform_id: int) -> _Ids:
        records = RecordService(self.session, self.clock)
        learner = records.learner(LearnerIdentity(context.issuer, context.sub, context.name, context.email))
        course = records.course(course_identity)
        course.nrps_url = context.nrps_url or course.nrps_url
        course.platform_id = platform_id
        record = records.module_record(learner, course, self.module.id)
        placement = self.session.scalar(
            select(Placement).where(
                Placement.course_id == course.id, Placement.resource_link_id == context.resource_link_id
            )
        )
        if placement is None:
            placement = Placement(course_id=course.id, resource_link_id=context.resource_link_id, created_at=self.now)
            self.session.add(placement)
        placement.unit = context.unit
        placement.title = context.resource_link_title or placement.title
        placement.platform_id = platform_id
        placement.ags_scopes = list(context.ags_scopes)
        placement.ags_lineitems_url = context.ags_lineitems
        placement.ags_lineitem_url = context.ags_lineitem
        self.session.flush()
        return _Ids(learner.id, course.id, record.id, placement.id)

    def _complete(self, login: OidcLogin, context: LaunchContext, state_check: str) -> CompletedLaunch:
        login.state_check = state_check
        course = CourseIdentity(
            issuer=context.issuer,
            deployment_id=context.deployment_id,
            context_id=context.context_id,
            resource_link_id=context.resource_link_id,
            title=context.context_title,
        )
        ids = self._returning(context, course) or self._record(context, course, login.platform_id)
        token = SessionService(self.session, self.settings.secret_key, self.now).open(
            context,
            learner_id=ids.learner,
            course_id=ids.course,
            placement_id=ids.placement,
            record_id=ids.record,
            lifetime=timedelta(seconds=self.settings.session_lifetime),
        )
        return CompletedLaunch(token=token, unit=context.unit, state_check=state_check, context=context)
