from . import (
    test_demo_data,
    test_forward,
    test_im_livechat_channel,
    test_livechat_group,
    test_livechat_group_access,
    test_notification,
    test_routing,
    test_session_report,
    test_stock_livechat,
    test_supervision_access,
    test_supervision_board,
    test_tours,
)
