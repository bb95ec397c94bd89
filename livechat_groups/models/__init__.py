from . import (
    chatbot_script_step,
    discuss_channel,
    discuss_channel_display,
    im_livechat_channel,
    livechat_group,
    livechat_session_dialog,
    livechat_session_transfer,
    mail_message,
    res_groups,
    res_users,
    res_users_settings,
)
