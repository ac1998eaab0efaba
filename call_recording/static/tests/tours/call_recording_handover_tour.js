import { registry } from "@web/core/registry";

/**
 * A manager sends a download link to a customer the link cannot reach
 * (a portal login, but no e-mail address): the server refuses, and the
 * request is not marked handed over. The Python test prepares the request.
 */
registry.category("web_tour.tours").add("call_recording_handover_refused_tour", {
    steps: () => [
        {
            content: "The request's identity is checked",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains(Identity checked)",
        },
        {
            content: "Send the download link",
            trigger: ".o_form_view button[name=action_share_link]",
            run: "click",
        },
        {
            content: "Refused: the customer cannot be reached",
            trigger: ".modal .modal-body:contains(no e-mail address)",
        },
        {
            content: "Close the message",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Not handed over",
            trigger:
                "body:not(:has(.modal)) .o_statusbar_status .o_arrow_button_current:contains(Identity checked)",
        },
    ],
});
