"""What the engine refuses. Each error leaves the attempt exactly as it was."""


class AssessmentError(Exception):
    """Base class: the request was refused and nothing changed."""


class UnknownQuestionError(AssessmentError):
    def __init__(self, assessment_id: str, question_id: str) -> None:
        self.question_id = question_id
        super().__init__(f"'{question_id}' is not a question of {assessment_id}")


class UnknownOptionError(AssessmentError):
    def __init__(self, question_id: str, option_id: str) -> None:
        self.option_id = option_id
        super().__init__(f"'{option_id}' is not an option of question {question_id}")


class AnswerFinalError(AssessmentError):
    def __init__(self, question_id: str) -> None:
        super().__init__(
            f"question {question_id} was already answered and its feedback shown; "
            "a quiz answer is final (retake the quiz to answer again)"
        )


class AttemptSubmittedError(AssessmentError):
    def __init__(self, attempt_id: str) -> None:
        super().__init__(f"attempt {attempt_id} has been submitted and can no longer change")


class AttemptLimitError(AssessmentError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"all {limit} attempts have been used")


class AttemptMismatchError(AssessmentError):
    def __init__(self, attempt_id: str, assessment_id: str) -> None:
        super().__init__(f"attempt {attempt_id} does not belong to {assessment_id}")
