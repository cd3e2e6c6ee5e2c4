"""Every table is either one of a learner's (it carries ``learner_id``, so the export reads it and erasure deletes
from it), one the privacy services handle by the learner's identity, or known to hold no learner data. A new table
fails here until someone decides which."""

from lms_plugin.models import Base
from lms_plugin.services.learner_export import LEARNER_TABLES

# Found by the learner's identity rather than learner_id: the learner row itself, the LMS's roster (it lists people
# who never launched), and the course audit, which refers to the student an entry is about by id (kept, without
# it, after an erasure) and names the instructor who made it.
BY_IDENTITY = {"learners", "roster_members", "instructor_audit"}
# No learner data: platforms, courses and placements, the tool's and the emulator's keys and registrations, admin
# accounts and their audit (which names admins, and refers to learners only by a reference), worker bookkeeping.
NO_LEARNER_DATA = {
    "platforms",
    "deployments",
    "courses",
    "placements",
    "placement_settings",
    "tool_keys",
    "credential_keys",
    "oidc_logins",
    "registration_links",
    "admin_accounts",
    "admin_login_failures",
    "admin_audit",
    "worker_leases",
    "maintenance_runs",
}


def test_every_table_is_a_learner_table_or_known_to_hold_no_learner_data() -> None:
    tool_tables = {t.name for t in Base.metadata.sorted_tables if not t.name.startswith("emulator_")}
    learner_tables = {t.name for t in LEARNER_TABLES}
    assert tool_tables - learner_tables - BY_IDENTITY - NO_LEARNER_DATA == set()
    assert learner_tables & NO_LEARNER_DATA == set()


def test_dependent_tables_come_before_the_tables_they_refer_to() -> None:
    order = [t.name for t in LEARNER_TABLES]
    assert order.index("answers") < order.index("attempts") < order.index("module_records")
    assert order.index("lab_traces") < order.index("lab_exchanges") < order.index("lab_attempts")
    assert order.index("url_tickets") < order.index("launch_sessions")
