import { MessagingMenu } from "@mail/core/public_web/messaging_menu";
import { LivechatStart } from "./livechat_start";
import { LivechatWaiting } from "./livechat_waiting";

/**
 * On a phone, Discuss has no sidebar: its tabs show "Waiting" (sessions to take) and "Ask a
 * Live Chat" (the internal live chats) above their conversations.
 */
MessagingMenu.components = { ...MessagingMenu.components, LivechatStart, LivechatWaiting };
