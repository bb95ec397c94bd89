from . import livechat_session_forward
