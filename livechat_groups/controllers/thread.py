from odoo.addons.mail.controllers.thread import ThreadController


class LivechatGroupsThreadController(ThreadController):
    def _prepare_post_data(self, post_data, thread, **kwargs):
        # the route posts as superuser once the thread is readable: a waiting session is
        # readable by the members of its group, but answering it means taking it first
        if thread._name == "discuss.channel":
            thread._livechat_check_answer_access()
        return super()._prepare_post_data(post_data, thread, **kwargs)
