"""The course roster from the platform (NRPS), kept in the database and refreshed when it is stale."""

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from lms_plugin.lti.ags import ServiceCallError, ServiceClient
from lms_plugin.lti.nrps import fetch_members
from lms_plugin.lti.platform_directory import PlatformDirectory
from lms_plugin.models import Course, Platform, RosterMember

STALE_AFTER = timedelta(minutes=5)


class RosterService:
    def __init__(self, session: Session, client: ServiceClient, directory: PlatformDirectory, now: datetime) -> None:
        self.session = session
        self.client = client
        self.directory = directory
        self.now = now

    def refresh(self, course: Course, *, force: bool = False) -> str | None:
        """Fetch the roster if the course has an NRPS endpoint and ours is stale; a reason when it failed."""
        if course.nrps_url is None or course.platform_id is None:
            return None
        if not force and course.roster_fetched_at is not None and self.now - course.roster_fetched_at < STALE_AFTER:
            return None
        row = self.session.get(Platform, course.platform_id)
        platform = row and self.directory.find(self.session, row.issuer, row.client_id, self.now)
        if not platform:
            return "the course's platform is no longer registered"
        try:
            members = fetch_members(self.client, platform, course.nrps_url)
        except ServiceCallError as error:
            return f"the roster could not be fetched from the LMS ({error})"
        self.session.execute(delete(RosterMember).where(RosterMember.course_id == course.id))
        for member in members:
            self.session.add(
                RosterMember(
                    course_id=course.id,
                    issuer=course.issuer,
                    user_id=member.user_id,
                    name=member.name,
                    email=member.email,
                    roles=list(member.roles),
                    status=member.status,
                )
            )
        course.roster_fetched_at = self.now
        return None
