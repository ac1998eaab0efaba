import { registry } from "@web/core/registry";

function rows() {
    return [...document.querySelectorAll(".o_list_view .o_data_row")];
}

function audio() {
    return document.querySelector(".o_form_view .o_call_audio_full audio");
}

/**
 * An agent's day (see test_work.py, TestAgentWorkTour): lands in their
 * calls of today, plays a recording on its waveform, faster, comments on
 * a moment and jumps back to it from the chatter, creates the contact of
 * an unknown caller, searches a number, and opens the callback list.
 */
registry.category("web_tour.tours").add("call_recording_agent_work_tour", {
    steps: () => [
        {
            content: "After login the agent is in My Calls, filtered on today",
            trigger: ".o_breadcrumb:contains(My Calls)",
        },
        {
            content: "Both filters are set",
            trigger: ".o_searchview_facet:contains(Today)",
            run() {
                const facets = document.querySelector(".o_searchview").textContent;
                if (!facets.includes("My Calls")) {
                    throw new Error("the My Calls filter is not set");
                }
            },
        },
        {
            content: "Only the agent's calls of today are listed, the player shows the known length",
            trigger: ".o_list_view .o_data_row:contains(Work Customer) .o_call_audio_time[data-duration='2']",
            run() {
                const listed = rows();
                if (listed.length !== 2) {
                    throw new Error(`expected today's 2 calls, found ${listed.length}`);
                }
                if (document.body.textContent.includes("Yesterday Customer")) {
                    throw new Error("an older call is listed under Today");
                }
                const time = listed
                    .find((row) => row.textContent.includes("Work Customer"))
                    .querySelector(".o_call_audio_time").textContent;
                if (!time.includes("0:02")) {
                    throw new Error(`the length is not shown before playing: ${time}`);
                }
            },
        },
        {
            content: "Open the recorded call",
            trigger: ".o_list_view .o_data_row:contains(Work Customer) .o_data_cell[name=name]",
            run: "click",
        },
        {
            content: "The form has the full player",
            trigger: ".o_form_view .o_call_audio_full[data-playing='0'] canvas",
        },
        {
            content: "Play",
            trigger: ".o_form_view .o_call_audio_full .o_call_audio_toggle",
            run: "click",
        },
        {
            content: "It plays, and the waveform is drawn from the audio",
            trigger: ".o_form_view .o_call_audio_full[data-playing='1'][data-waveform='1']",
            run() {
                const canvas = document.querySelector(".o_call_audio_full canvas");
                const { data } = canvas
                    .getContext("2d")
                    .getImageData(0, 0, canvas.width, canvas.height);
                const painted = data.filter((v, i) => i % 4 === 3 && v > 0).length;
                if (painted < 50) {
                    throw new Error("nothing is drawn on the waveform");
                }
            },
        },
        {
            content: "Open the speeds",
            trigger: ".o_form_view .o_call_audio_speed",
            run: "click",
        },
        {
            content: "Play at 1.5×",
            trigger: ".o_call_audio_speed_option:contains(1.5)",
            run: "click",
        },
        {
            content: "The audio plays faster",
            trigger: ".o_form_view .o_call_audio_full[data-rate='1.5'] .o_call_audio_speed:contains(1.5)",
            run() {
                if (audio().playbackRate !== 1.5) {
                    throw new Error(`playback rate is ${audio().playbackRate}`);
                }
            },
        },
        {
            content: "Pause with the keyboard (Space) on the focused player",
            trigger: ".o_form_view .o_call_audio_full",
            run() {
                const player = document.querySelector(".o_form_view .o_call_audio_full");
                player.focus();
                player.dispatchEvent(new KeyboardEvent("keydown", { key: " ", bubbles: true }));
            },
        },
        {
            content: "Paused",
            trigger: ".o_form_view .o_call_audio_full[data-playing='0']",
        },
        {
            content: "Move to 0:01",
            trigger: ".o_form_view .o_call_audio_full",
            run() {
                audio().currentTime = 1;
            },
        },
        {
            content: "Comment on this moment",
            trigger: ".o_form_view .o_call_audio_comment",
            run: "click",
        },
        {
            content: "The comment box shows the moment",
            trigger: ".o_call_audio_comment_time:contains(0:01)",
        },
        {
            content: "Write the comment",
            trigger: ".o_call_audio_comment_input",
            run: "edit Asks for the price here",
        },
        {
            content: "Log it",
            trigger: ".o_call_audio_comment_post:enabled",
            run: "click",
        },
        {
            content: "The note is in the chatter with its time link",
            trigger: ".o-mail-Message:contains(Asks for the price here) a.o_call_recording_seek:contains(0:01)",
        },
        {
            content: "Go back to the start",
            trigger: ".o_form_view .o_call_audio_full",
            run() {
                audio().currentTime = 0;
            },
        },
        {
            content: "Click the time link in the chatter",
            trigger: ".o-mail-Message:contains(Asks for the price here) a.o_call_recording_seek",
            run: "click",
        },
        {
            content: "The player jumps there and plays",
            trigger: ".o_form_view .o_call_audio_full[data-playing='1']",
            run() {
                if (!(audio().currentTime >= 1)) {
                    throw new Error(`the player is at ${audio().currentTime}, not at 0:01`);
                }
            },
        },
        {
            content: "Pause",
            trigger: ".o_form_view .o_call_audio_full[data-playing='1'] .o_call_audio_toggle",
            run: "click",
        },
        {
            content: "Back to the list",
            trigger: ".o_breadcrumb .o_back_button, .o_breadcrumb a:contains(My Calls)",
            run: "click",
        },
        {
            content: "Open the call from the unknown number",
            trigger: ".o_list_view .o_data_row:contains(+36 30 555 0199) .o_data_cell[name=name]",
            run: "click",
        },
        {
            content: "Create the contact from the number",
            trigger: ".o_form_view button[name=action_create_partner]",
            run: "click",
        },
        {
            content: "The number is filled in",
            trigger: ".modal .o_field_widget[name=phone] input",
            run() {
                const value = document.querySelector(".modal .o_field_widget[name=phone] input").value;
                if (value.replace(/\s/g, "") !== "+36305550199") {
                    throw new Error(`the phone is ${value}`);
                }
            },
        },
        {
            content: "Name the contact",
            trigger: ".modal .o_field_widget[name=name] input",
            run: "edit Új Ügyfél",
        },
        {
            content: "Save it",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The call is now the new contact's",
            trigger: "body:not(:has(.modal)) .o_form_view .o_field_widget[name=partner_id] input:value(Új Ügyfél)",
        },
        {
            content: "No more button to create it",
            trigger: ".o_form_view:not(:has(button[name=action_create_partner]))",
        },
        {
            content: "Open all calls",
            trigger: ".o_breadcrumb a:contains(My Calls)",
            run: "click",
        },
        {
            content: "Type a number in the search",
            trigger: ".o_searchview_input",
            run: "edit 06 30 111 0001",
        },
        {
            content: "The phone number search is offered first",
            trigger: ".o_searchview_autocomplete .o-dropdown-item:first-child:contains(Phone Number)",
        },
        {
            content: "Search with Enter",
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "The facet searches the phone number",
            trigger: ".o_searchview_facet:contains(Phone Number):contains(06 30 111 0001)",
        },
        {
            content: "Open the callback list",
            trigger: ".o_main_navbar .o-dropdown:contains(Calls) > button, .o_menu_sections button:contains(Calls)",
            run: "click",
        },
        {
            content: "To Call Back",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains(To Call Back)",
            run: "click",
        },
        {
            content: "The missed call not returned is listed, the returned one is not",
            trigger: ".o_list_view .o_data_row:contains(+36 30 111 0001)",
            run() {
                if (rows().length !== 1) {
                    throw new Error(`expected 1 call to return, found ${rows().length}`);
                }
                if (document.querySelector(".o_list_view").textContent.includes("111 0002")) {
                    throw new Error("a returned call is still listed");
                }
            },
        },
    ],
});

/** A manager compares this month so far with the same days of last month. */
registry.category("web_tour.tours").add("call_recording_manager_month_to_date_tour", {
    steps: () => [
        {
            content: "The month is shown as 'so far'",
            trigger: ".o_call_dashboard .o_call_dashboard_range[data-so-far='1'] .o_call_dashboard_so_far",
        },
        {
            content: "Ten days of March beside ten days of February",
            trigger: ".o_call_dashboard_range:contains(10 days)",
        },
        {
            content: "This month's calls",
            trigger: ".o_call_dashboard .o_call_kpi[data-kpi=calls] .o_call_kpi_value:contains(3)",
        },
        {
            content: "Last month counts only its first ten days: 1 call, not 3",
            trigger: ".o_call_dashboard .o_call_kpi[data-kpi=calls] .o_call_kpi_previous:contains((1))",
        },
        {
            content: "Durations read as m:ss",
            trigger: ".o_call_dashboard .o_call_kpi[data-kpi=avg_seconds] .o_call_kpi_value:contains(2:00)",
        },
        {
            content: "The line is shown by its name",
            trigger: ".o_call_dashboard_by_line td:contains(Dashboard Service Line)",
        },
        {
            content: "Look at last month",
            trigger: ".o_call_dashboard_prev",
            run: "click",
        },
        {
            content: "A past month is whole: no 'so far', all three February calls",
            trigger: ".o_call_dashboard .o_call_dashboard_range[data-so-far='0']",
            run() {
                const value = document.querySelector(
                    ".o_call_kpi[data-kpi=calls] .o_call_kpi_value"
                ).textContent;
                if (value.trim() !== "3") {
                    throw new Error(`February shows ${value} calls`);
                }
            },
        },
    ],
});
