import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";

/**
 * The screen pop: when the PBX reserves a call's reference, or a provider
 * announces a call ringing on an agent, the server sends that agent (and
 * nobody else) a bus notification "call_recording/call_start". It shows
 * who is calling, with one click to the customer's card (or to the call).
 * The server sends the contact only to an agent who may read it.
 */
export const callScreenPopService = {
    dependencies: ["bus_service", "notification", "action"],

    start(env, { bus_service, notification, action }) {
        bus_service.subscribe("call_recording/call_start", (payload) => {
            const number = payload.number || _t("a withheld number");
            const title =
                payload.direction === "outbound" ? _t("Outgoing call") : _t("Incoming call");
            const who = payload.partner_name
                ? _t("%(name)s (%(number)s)", { name: payload.partner_name, number })
                : _t("%(number)s, no known contact", { number });
            const message = payload.reference
                ? _t("%(who)s. Reference: %(reference)s", { who, reference: payload.reference })
                : who;
            const buttons = [];
            if (payload.partner_id) {
                buttons.push({
                    name: _t("Open the customer's card"),
                    primary: true,
                    onClick: () =>
                        action.doAction({
                            type: "ir.actions.act_window",
                            res_model: "res.partner",
                            res_id: payload.partner_id,
                            views: [[false, "form"]],
                            target: "current",
                        }),
                });
            }
            if (payload.call_id) {
                buttons.push({
                    name: _t("Open the call"),
                    primary: !payload.partner_id,
                    onClick: () =>
                        action.doAction({
                            type: "ir.actions.act_window",
                            res_model: "call.recording",
                            res_id: payload.call_id,
                            views: [[false, "form"]],
                            target: "current",
                        }),
                });
            }
            notification.add(message, {
                title,
                type: "info",
                sticky: true,
                className: "o_call_recording_screen_pop",
                buttons,
            });
        });
        bus_service.start();
    },
};

registry.category("services").add("call_recording_screen_pop", callScreenPopService);
