import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useInputField } from "@web/views/fields/input_field_hook";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { formatDuration, formatFileSize, formatMinutes, parseDuration } from "../utils/format";

/**
 * ``widget="call_duration"`` on an integer number of seconds: shown as
 * ``m:ss`` (``h:mm:ss``), typed as ``m:ss`` or seconds.  The same format
 * is registered as a formatter, so list totals and grouped rows read alike.
 */
export class CallDurationField extends Component {
    static template = "call_recording.CallDurationField";
    static props = { ...standardFieldProps };

    setup() {
        useInputField({
            getValue: () => this.formattedValue,
            parse: (value) => parseDuration(value),
        });
    }

    get formattedValue() {
        return formatDuration(this.props.record.data[this.props.name]);
    }
}

export const callDurationField = {
    component: CallDurationField,
    displayName: _t("Call duration (m:ss)"),
    supportedTypes: ["integer"],
    isEmpty: (record, fieldName) => record.data[fieldName] === false,
};

/** ``widget="call_minutes"``: a float number of minutes (the reports' measures) as ``m:ss``. */
export class CallMinutesField extends Component {
    static template = "call_recording.CallReadonlyValue";
    static props = { ...standardFieldProps };

    get formattedValue() {
        return formatMinutes(this.props.record.data[this.props.name]);
    }
}

/** ``widget="call_file_size"``: a number of bytes with its unit; the exact count as tooltip. */
export class CallFileSizeField extends Component {
    static template = "call_recording.CallFileSizeField";
    static props = { ...standardFieldProps };

    get value() {
        return this.props.record.data[this.props.name];
    }

    get formattedValue() {
        return this.value ? formatFileSize(this.value) : "";
    }
}

const fields = registry.category("fields");
fields.add("call_duration", callDurationField);
fields.add("call_minutes", {
    component: CallMinutesField,
    displayName: _t("Minutes as m:ss"),
    supportedTypes: ["float"],
});
fields.add("call_file_size", {
    component: CallFileSizeField,
    displayName: _t("File size"),
    supportedTypes: ["integer"],
});

const formatters = registry.category("formatters");
formatters.add("call_duration", (value) => formatDuration(value));
formatters.add("call_minutes", (value) => formatMinutes(value));
formatters.add("call_file_size", (value) => formatFileSize(value));
