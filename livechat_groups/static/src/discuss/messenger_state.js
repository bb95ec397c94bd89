import { Message } from "@mail/core/common/message_model";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { localization } from "@web/core/l10n/localization";
import { patch } from "@web/core/utils/patch";

/**
 * Why a message to a WhatsApp or Telegram customer still waits, in the reader's language and
 * time zone: the server sends a reason code, the provider and the next attempt (UTC).
 */
patch(Message.prototype, {
    get livechatMessengerWaitText() {
        const wait = this.livechatMessengerWait;
        if (!wait) {
            return "";
        }
        if (wait.reason === "unreachable" && wait.next) {
            const time = formatDateTime(deserializeDateTime(wait.next), {
                format: localization.shortTimeFormat,
            });
            return _t("%(provider)s could not be reached; tried again at %(time)s.", {
                provider: wait.provider,
                time,
            });
        }
        if (wait.reason === "rate_limited" && wait.next) {
            const time = formatDateTime(deserializeDateTime(wait.next), {
                format: localization.shortTimeFormat,
            });
            return _t("%(provider)s asks us to send more slowly; sent again at %(time)s.", {
                provider: wait.provider,
                time,
            });
        }
        if (wait.reason === "late") {
            return _t(
                "%(provider)s did not answer in time: waiting for its word that the message arrived.",
                { provider: wait.provider }
            );
        }
        return "";
    },
});
