import { _t } from "@web/core/l10n/translation";
import { formatFloat } from "@web/core/utils/numbers";

/**
 * The suite's formats, one per kind of value, used by the fields, the
 * lists' totals, the pivot and graph views and the dashboard:
 * durations as ``m:ss`` (``h:mm:ss`` from an hour, as on the calls),
 * sizes with their unit.
 */

export function formatDuration(seconds) {
    if (seconds === false || seconds === null || seconds === undefined || !Number.isFinite(+seconds)) {
        return "";
    }
    const sign = seconds < 0 ? "-" : "";
    let total = Math.round(Math.abs(seconds));
    const hours = Math.floor(total / 3600);
    total -= hours * 3600;
    const minutes = Math.floor(total / 60);
    const secs = String(total - minutes * 60).padStart(2, "0");
    if (hours) {
        return `${sign}${hours}:${String(minutes).padStart(2, "0")}:${secs}`;
    }
    return `${sign}${minutes}:${secs}`;
}

/** Minutes as a float (the reports' measures) shown as a duration. */
export function formatMinutes(minutes) {
    if (minutes === false || minutes === null || minutes === undefined) {
        return "";
    }
    return formatDuration(minutes * 60);
}

/**
 * Reads ``h:mm:ss``, ``m:ss`` or a number of seconds.
 * @returns {number}
 */
export function parseDuration(text) {
    const value = String(text ?? "").trim();
    if (!value) {
        return 0;
    }
    if (/^\d+$/.test(value)) {
        return parseInt(value, 10);
    }
    const match = value.match(/^(?:(\d+):)?(\d+):([0-5]\d)$/);
    if (!match) {
        throw new Error(_t("Write a duration as m:ss, h:mm:ss or seconds."));
    }
    const [, hours, minutes, seconds] = match;
    return (parseInt(hours || "0", 10) * 60 + parseInt(minutes, 10)) * 60 + parseInt(seconds, 10);
}

const SIZE_UNITS = ["B", "KB", "MB", "GB", "TB"];

/** A number of bytes with its unit: ``812 B``, ``1.5 MB``. */
export function formatFileSize(bytes) {
    if (bytes === false || bytes === null || bytes === undefined || !Number.isFinite(+bytes)) {
        return "";
    }
    let size = Math.abs(bytes);
    let unit = 0;
    while (size >= 1024 && unit < SIZE_UNITS.length - 1) {
        size /= 1024;
        unit++;
    }
    const number = unit ? formatFloat(size, { digits: [16, 1] }) : String(size);
    return `${bytes < 0 ? "-" : ""}${number} ${SIZE_UNITS[unit]}`;
}
