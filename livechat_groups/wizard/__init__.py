from . import livechat_session_assign, livechat_session_forward
