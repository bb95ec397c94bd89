from . import livechat_session_report
