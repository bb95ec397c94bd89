from . import im_livechat_channel, livechat_group, res_groups, res_users
