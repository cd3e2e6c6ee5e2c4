"""LTI 1.3 (1EdTech LTI Core 1.3, Security Framework 1.0): login, launch validation, keys, the session token.

Raw claim URLs stop here: everything below the edge sees a :class:`~lms_plugin.lti.context.LaunchContext`.
"""
