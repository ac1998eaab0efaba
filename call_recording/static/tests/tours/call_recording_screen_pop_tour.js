import { registry } from "@web/core/registry";

/**
 * The screen pop: the agent's web client is open when the PBX reserves the
 * reference of a call put through to the agent's extension; the
 * notification names the customer and opens their card in one click.
 *
 * The Python test gives the PBX's request in ``window.crScreenPopTour``
 * (the reservation route, its API key and fields): a tour step sends it,
 * as the PBX would, once the web client listens on the bus.
 */
async function busConnected() {
    const bus = odoo.__WOWL_DEBUG__.root.env.services.bus_service;
    for (let attempt = 0; attempt < 150; attempt++) {
        if (bus.workerState === "CONNECTED") {
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the bus did not connect (${bus.workerState})`);
}

registry.category("web_tour.tours").add("call_recording_screen_pop", {
    steps: () => [
        {
            content: "The agent's calls are open",
            trigger: ".o_list_view, .o_view_nocontent",
        },
        {
            content: "The PBX reserves the reference of a call to the agent's extension",
            timeout: 30000,
            trigger: "body",
            async run() {
                await busConnected();
                // the subscription follows the connection
                await new Promise((resolve) => setTimeout(resolve, 500));
                const pbx = window.crScreenPopTour;
                const response = await fetch("/call_recording/reserve", {
                    method: "POST",
                    headers: {
                        Authorization: `Bearer ${pbx.key}`,
                        "Content-Type": "application/json",
                    },
                    body: JSON.stringify(pbx.vals),
                });
                if (response.status !== 201) {
                    throw new Error(`reservation refused: ${await response.text()}`);
                }
            },
        },
        {
            content: "The pop names the customer and the reference",
            trigger:
                ".o_call_recording_screen_pop:contains(Kiss Erzsébet):contains(Reference: CR/)",
            timeout: 20000,
        },
        {
            content: "One click opens the customer's card",
            trigger: ".o_call_recording_screen_pop button:contains(Open the customer's card)",
            async run() {
                // the notification's fade-in renders its buttons again: click the
                // button on the page once it has settled, not the first one seen
                await new Promise((resolve) => setTimeout(resolve, 500));
                const button = [
                    ...document.querySelectorAll(".o_call_recording_screen_pop button"),
                ].find((el) => el.textContent.includes("Open the customer's card"));
                button.click();
            },
        },
        {
            content: "A contact's card is open",
            trigger: ".o_form_view .o_field_widget[name=phone] input",
        },
        {
            content: "It is the customer's",
            trigger: ".o_breadcrumb:contains(Kiss Erzsébet)",
        },
    ],
});
