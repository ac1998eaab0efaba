import { registry } from "@web/core/registry";

/**
 * An agent opens a customer, finds the customer's calls, plays one, and
 * sees only their own calls (the Python test gives agent B a call with
 * the same customer).
 */
registry.category("web_tour.tours").add("call_recording_agent_tour", {
    steps: () => [
        {
            content: "The smart button counts only the agent's own call",
            trigger: ".oe_stat_button:has(.o_stat_text:contains(Calls)) .o_stat_value:contains(1)",
        },
        {
            content: "Open the customer's calls on the contact card",
            trigger: ".o_notebook .nav-link:contains(Calls)",
            run: "click",
        },
        {
            content: "Exactly one call is listed, the agent's own",
            trigger: ".o_field_widget[name=call_recording_ids] .o_data_row:contains(Tour Agent A)",
            run() {
                const rows = document.querySelectorAll(
                    ".o_field_widget[name=call_recording_ids] .o_data_row"
                );
                if (rows.length !== 1) {
                    throw new Error(`expected 1 call, found ${rows.length}`);
                }
                if (document.body.textContent.includes("Tour Agent B")) {
                    throw new Error("another agent's call is visible");
                }
            },
        },
        {
            content: "Play the recording",
            trigger: ".o_field_widget[name=call_recording_ids] .o_call_audio_toggle",
            run: "click",
        },
        {
            content: "The player is playing",
            trigger: ".o_field_widget[name=call_recording_ids] .o_call_audio_player[data-playing='1']",
        },
        {
            content: "The player knows the duration and its position moves",
            trigger:
                ".o_call_audio_player .o_call_audio_time:not([data-duration='0']):not([data-current='0'])",
            run() {
                const audio = document.querySelector(".o_call_audio_player audio");
                if (!(audio.duration > 1.5 && audio.duration < 2.5)) {
                    throw new Error(`unexpected duration ${audio.duration}`);
                }
                if (!(audio.currentTime > 0)) {
                    throw new Error("the recording does not advance");
                }
            },
        },
        {
            content: "Pause",
            trigger: ".o_call_audio_player[data-playing='1'] .o_call_audio_toggle",
            run: "click",
        },
        {
            content: "Open all calls of the customer from the smart button",
            trigger: ".oe_stat_button:has(.o_stat_text:contains(Calls))",
            run: "click",
        },
        {
            content: "The list of calls shows the agent's call only",
            trigger: ".o_list_view .o_data_row:contains(Tour Agent A)",
            run() {
                const rows = document.querySelectorAll(".o_list_view .o_data_row");
                if (rows.length !== 1) {
                    throw new Error(`expected 1 call, found ${rows.length}`);
                }
            },
        },
        {
            content: "Open the call",
            trigger: ".o_list_view .o_data_row .o_data_cell[name=name]:contains(CR/)",
            run: "click",
        },
        {
            content: "The call form has the full player (waveform, skip, speed) and a download button",
            trigger: ".o_form_view .o_call_audio_full canvas",
            run() {
                const player = document.querySelector(".o_form_view .o_call_audio_full");
                for (const part of [".o_call_audio_back", ".o_call_audio_forward", ".o_call_audio_speed"]) {
                    if (!player.querySelector(part)) {
                        throw new Error(`the player has no ${part}`);
                    }
                }
                const link = player.querySelector(".o_call_audio_download");
                if (!link || !link.getAttribute("href").endsWith("/audio?download=1")) {
                    throw new Error("no download button");
                }
            },
        },
    ],
});

/** A manager opens the call dashboard, changes the period and opens the analysis. */
registry.category("web_tour.tours").add("call_recording_manager_dashboard_tour", {
    steps: () => [
        {
            content: "This month's calls are counted",
            trigger: ".o_call_dashboard .o_call_kpi[data-kpi=calls] .o_call_kpi_value:contains(3)",
        },
        {
            content: "Talk time is summed, as m:ss",
            trigger: ".o_call_dashboard .o_call_kpi[data-kpi=seconds] .o_call_kpi_value:contains(6:00)",
        },
        {
            content: "The agents are listed",
            trigger: ".o_call_dashboard_by_agent tr:contains(Dashboard Agent A) td:contains(2)",
        },
        {
            content: "The busiest hours show the calls",
            trigger: ".o_call_heatmap td[data-hour='10']:contains(3)",
        },
        {
            content: "Look at last month",
            trigger: ".o_call_dashboard_prev",
            run: "click",
        },
        {
            content: "Last month had no calls",
            trigger: ".o_call_dashboard .o_call_kpi[data-kpi=calls] .o_call_kpi_value:contains(0)",
        },
        {
            content: "Open the analysis",
            trigger: ".o_call_dashboard_analysis",
            run: "click",
        },
        {
            content: "The graph of the analysis is shown",
            trigger: ".o_graph_view .o_graph_renderer",
        },
    ],
});
