import { registry } from "@web/core/registry";
import { graphView } from "@web/views/graph/graph_view";
import { GraphRenderer } from "@web/views/graph/graph_renderer";

/**
 * The call analysis graph: a count (calls, answered, missed ...) is drawn
 * on an axis of whole numbers, never 0.5 calls.
 */
export class CallGraphRenderer extends GraphRenderer {
    getScaleOptions() {
        const scales = super.getScaleOptions();
        const { measure, measures, fieldAttrs } = this.model.metaData;
        const field = measures[measure];
        const isCount = measure === "__count" || field?.type === "integer";
        if (scales.y && isCount && !fieldAttrs[measure]?.widget) {
            scales.y.ticks = {
                ...scales.y.ticks,
                precision: 0,
                callback: (value) => (Number.isInteger(value) ? this.formatValue(value) : ""),
            };
        }
        return scales;
    }
}

registry.category("views").add("call_recording_graph", {
    ...graphView,
    Renderer: CallGraphRenderer,
});
