import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { deserializeDate, formatDate } from "@web/core/l10n/dates";
import { useService } from "@web/core/utils/hooks";
import { formatFloat, formatInteger } from "@web/views/fields/formatters";
import { formatDuration } from "../utils/format";

/** Counts as whole numbers, durations as m:ss (as on the calls), rates in %. */
const KPIS = [
    { key: "calls", label: _t("Calls"), kind: "count" },
    { key: "seconds", label: _t("Talk time"), kind: "duration" },
    { key: "answered", label: _t("Answered"), kind: "count" },
    { key: "missed", label: _t("Missed"), kind: "count", lowerIsBetter: true },
    { key: "answer_rate", label: _t("Answer rate"), kind: "percent" },
    { key: "avg_seconds", label: _t("Average length"), kind: "duration" },
    { key: "max_seconds", label: _t("Longest call"), kind: "duration" },
];

/**
 * Managers' call dashboard: one period's figures beside the previous
 * period's, the split per agent, line and direction, and the busiest hours.
 * All figures come from one server call that aggregates in SQL.
 */
export class CallDashboard extends Component {
    static template = "call_recording.CallDashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.kpis = KPIS;
        this.periods = [
            { key: "week", label: _t("Week") },
            { key: "month", label: _t("Month") },
            { key: "quarter", label: _t("Quarter") },
            { key: "year", label: _t("Year") },
        ];
        this.state = useState({ period: "month", offset: 0, data: null });
        onWillStart(() => this.load());
    }

    async load() {
        this.state.data = await this.orm.call(
            "call.recording.report",
            "get_dashboard_data",
            [this.state.period, this.state.offset]
        );
    }

    async setPeriod(period) {
        this.state.period = period;
        this.state.offset = 0;
        await this.load();
    }

    async move(step) {
        this.state.offset = Math.max(0, this.state.offset + step);
        await this.load();
    }

    format(value, kind = "count") {
        if (kind === "duration") {
            return formatDuration(value || 0);
        }
        if (kind === "percent") {
            return `${formatFloat(value || 0, { digits: [16, 1] })} %`;
        }
        return formatInteger(value || 0);
    }

    formatDay(value) {
        return value ? formatDate(deserializeDate(value)) : "";
    }

    get previousTitle() {
        return this.state.data.so_far
            ? _t("The same number of days of the previous period")
            : _t("The previous period");
    }

    get periodLabel() {
        const data = this.state.data;
        const current = `${this.formatDay(data.start)} – ${this.formatDay(data.end)}`;
        const previous = `${this.formatDay(data.previous_start)} – ${this.formatDay(data.previous_end)}`;
        if (data.so_far) {
            return _t("%(current)s so far (%(days)s days), compared with %(previous)s, the same number of days", {
                current,
                previous,
                days: data.days,
            });
        }
        return _t("%(current)s, compared with %(previous)s", { current, previous });
    }

    delta(kpi) {
        const { current, previous } = this.state.data;
        const now = current[kpi.key] || 0;
        const before = previous[kpi.key] || 0;
        const diff = now - before;
        let cls = "text-muted";
        if (diff !== 0) {
            const good = kpi.lowerIsBetter ? diff < 0 : diff > 0;
            cls = good ? "text-success" : "text-danger";
        }
        const pct = before ? Math.round((100 * diff) / before) : null;
        return {
            cls,
            icon: diff > 0 ? "fa-caret-up" : diff < 0 ? "fa-caret-down" : "fa-minus",
            text: pct === null ? (diff ? _t("new") : "=") : `${pct > 0 ? "+" : ""}${pct}%`,
        };
    }

    heatStyle(count) {
        const max = this.state.data.heatmap.max || 1;
        const alpha = count ? 0.15 + (0.85 * count) / max : 0;
        return `background-color: rgba(1, 126, 132, ${alpha.toFixed(2)});`;
    }

    heatCount(dow, hour) {
        const row = this.state.data.heatmap.cells[String(dow)] || {};
        return row[String(hour)] || 0;
    }

    get hours() {
        return [...Array(24).keys()];
    }

    openCalls(extraDomain = []) {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: _t("Calls"),
            res_model: "call.recording",
            views: [
                [false, "list"],
                [false, "form"],
            ],
            domain: [...this.state.data.domain, ...extraDomain],
        });
    }

    openAction(xmlid) {
        this.action.doAction(xmlid);
    }

    openAnalysis() {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: _t("Call Analysis"),
            res_model: "call.recording.report",
            views: [
                [false, "graph"],
                [false, "pivot"],
                [false, "list"],
            ],
            // the same days, on the report's day (in the reporting time zone)
            domain: this.state.data.report_domain,
        });
    }
}

registry.category("actions").add("call_recording.dashboard", CallDashboard);
