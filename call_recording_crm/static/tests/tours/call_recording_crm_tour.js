import { registry } from "@web/core/registry";

/** A salesperson opens an opportunity, its calls, and plays one. */
registry.category("web_tour.tours").add("call_recording_crm_lead_tour", {
    steps: () => [
        {
            content: "The lead counts the salesperson's call",
            trigger: ".oe_stat_button:has(.o_stat_text:contains(Calls)) .o_stat_value:contains(1)",
        },
        {
            content: "Open the lead's calls",
            trigger: ".o_notebook .nav-link:contains(Calls)",
            run: "click",
        },
        {
            content: "One call, with a play control",
            trigger: ".o_field_widget[name=call_recording_ids] .o_data_row:contains(Tour Salesman)",
            run() {
                const rows = document.querySelectorAll(
                    ".o_field_widget[name=call_recording_ids] .o_data_row"
                );
                if (rows.length !== 1) {
                    throw new Error(`expected 1 call, found ${rows.length}`);
                }
            },
        },
        {
            content: "Play it",
            trigger: ".o_field_widget[name=call_recording_ids] .o_call_audio_toggle",
            run: "click",
        },
        {
            content: "It plays and moves",
            trigger:
                ".o_call_audio_player[data-playing='1'] .o_call_audio_time:not([data-current='0'])",
        },
    ],
});
