import {
    Component,
    onMounted,
    onWillUnmount,
    onWillUpdateProps,
    useEffect,
    useRef,
    useState,
} from "@odoo/owl";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { formatDuration } from "../../utils/format";

/** Steps of the skip buttons and of the arrow keys, in seconds. */
export const SKIP_SECONDS = 10;
export const SPEEDS = [0.75, 1, 1.25, 1.5, 1.75, 2];
/** Larger recordings are streamed without a waveform (decoding needs the whole file in memory). */
export const WAVEFORM_MAX_BYTES = 64 * 1024 * 1024;
const BAR_WIDTH = 3;
const BAR_GAP = 1;
/** A comment's link in the chatter: ``/odoo/call.recording/<id>#t=<seconds>``. */
const SEEK_LINK_RE = /\/call\.recording\/(\d+)#t=(\d+)$/;

/**
 * Peaks of a decoded recording: for each of ``count`` equal slices, the
 * largest amplitude over all channels, scaled so that the loudest is 1.
 * @param {AudioBuffer} buffer
 * @param {number} count
 * @returns {number[]}
 */
export function computePeaks(buffer, count) {
    const channels = [];
    for (let c = 0; c < buffer.numberOfChannels; c++) {
        channels.push(buffer.getChannelData(c));
    }
    const length = buffer.length;
    const peaks = new Array(count).fill(0);
    const step = length / count;
    for (let i = 0; i < count; i++) {
        const from = Math.floor(i * step);
        const to = Math.max(from + 1, Math.floor((i + 1) * step));
        let peak = 0;
        for (const data of channels) {
            for (let j = from; j < to && j < length; j++) {
                const value = Math.abs(data[j]);
                if (value > peak) {
                    peak = value;
                }
            }
        }
        peaks[i] = peak;
    }
    const max = Math.max(...peaks, 1e-6);
    return peaks.map((p) => p / max);
}

/**
 * Plays a call's recording from the add-on's audio route.
 *
 * The route checks access and logs the play; nothing is fetched (nor
 * logged) until the user presses play.  In lists the control is a compact
 * play/pause button with the elapsed and the known length.  On the form it
 * is a full player: the waveform drawn from the audio itself (decoded in
 * the browser with the Web Audio API), click on it to seek, skip ±10 s,
 * playback speed, keyboard shortcuts, comments pinned to the current
 * moment (chatter notes whose time link seeks the player), and download.
 */
export class CallAudioPlayer extends Component {
    static template = "call_recording.CallAudioPlayer";
    static components = { Dropdown, DropdownItem };
    static props = {
        ...standardFieldProps,
        compact: { type: Boolean, optional: true },
        durationField: { type: String, optional: true },
        sizeField: { type: String, optional: true },
    };
    static defaultProps = {
        durationField: "duration",
        sizeField: "audio_size",
    };

    setup() {
        this.orm = useService("orm");
        this.notification = useService("notification");
        this.audioRef = useRef("audio");
        this.canvasRef = useRef("canvas");
        this.commentRef = useRef("comment");
        this.speeds = SPEEDS;
        this.skipSeconds = SKIP_SECONDS;
        this.state = useState({
            playing: false,
            current: 0,
            duration: this.knownDuration,
            error: false,
            loading: false,
            waveform: false,
            rate: 1,
            commentOpen: false,
            commentAt: 0,
            commentText: "",
            posting: false,
        });
        this.peaks = null;
        this.loaded = false;
        this.loadPromise = null;
        this.objectUrl = null;
        this.frame = null;

        if (!this.props.compact) {
            useEffect(
                () => this.draw(),
                () => [this.state.current, this.state.duration, this.state.waveform]
            );
            const onResize = () => this.draw();
            const onSeekLink = (ev) => this.onDocumentClick(ev);
            onMounted(() => {
                window.addEventListener("resize", onResize);
                // capture: before the chatter's own link handling
                document.addEventListener("click", onSeekLink, true);
            });
            onWillUnmount(() => {
                window.removeEventListener("resize", onResize);
                document.removeEventListener("click", onSeekLink, true);
            });
        }
        onWillUpdateProps((nextProps) => {
            // the form's pager shows another call in the same player
            const next = nextProps.record.data[nextProps.name] || "";
            if (next !== this.src || nextProps.record.resId !== this.props.record.resId) {
                this.reset(nextProps);
            }
        });
        onWillUnmount(() => this.release());
    }

    release() {
        cancelAnimationFrame(this.frame);
        this.audioRef.el?.pause();
        if (this.objectUrl) {
            URL.revokeObjectURL(this.objectUrl);
            this.objectUrl = null;
        }
    }

    reset(props) {
        this.release();
        if (this.audioRef.el && !props.compact) {
            this.audioRef.el.removeAttribute("src");
            this.audioRef.el.load();
        }
        this.peaks = null;
        this.loaded = false;
        this.loadPromise = null;
        const duration = props.record.data[props.durationField];
        Object.assign(this.state, {
            playing: false,
            current: 0,
            duration: Number.isFinite(duration) && duration > 0 ? duration : 0,
            error: false,
            loading: false,
            waveform: false,
            commentOpen: false,
            commentText: "",
        });
    }

    get src() {
        return this.props.record.data[this.props.name] || "";
    }

    get downloadUrl() {
        return `${this.src}?download=1`;
    }

    get knownDuration() {
        const value = this.props.record.data[this.props.durationField];
        return Number.isFinite(value) && value > 0 ? value : 0;
    }

    get audioSize() {
        return this.props.record.data[this.props.sizeField] || 0;
    }

    get playTitle() {
        return this.state.playing ? _t("Pause (Space)") : _t("Play (Space)");
    }

    get backTitle() {
        return _t("Back %s seconds (← or J)", SKIP_SECONDS);
    }

    get forwardTitle() {
        return _t("Forward %s seconds (→ or L)", SKIP_SECONDS);
    }

    get speedTitle() {
        return _t("Playback speed (< and >)");
    }

    get commentTitle() {
        return _t("Comment on this moment (C)");
    }

    get commentPlaceholder() {
        return _t("Comment at %s…", this.formatTime(this.state.commentAt));
    }

    wholeSeconds(value) {
        return Math.round(value || 0);
    }

    get speedLabel() {
        return `${this.state.rate}×`;
    }

    get shortcutsTitle() {
        return _t(
            "Keyboard, when the player has the focus: Space or K play/pause, ← or J back %(s)s s, → or L forward %(s)s s, < and > speed, C comment at this moment, Home to the start.",
            { s: SKIP_SECONDS }
        );
    }

    formatTime(seconds) {
        return formatDuration(Number.isFinite(seconds) && seconds > 0 ? seconds : 0);
    }

    // ------------------------------------------------------------------
    // Loading
    // ------------------------------------------------------------------

    /**
     * Fetch the recording once: one request, so one logged play.  The
     * player then plays (and seeks in) the fetched copy, and the waveform
     * is computed from the same bytes.
     */
    ensureLoaded() {
        if (this.loaded || this.props.compact) {
            return Promise.resolve();
        }
        if (!this.loadPromise) {
            this.loadPromise = this.load().finally(() => {
                this.state.loading = false;
            });
        }
        return this.loadPromise;
    }

    async load() {
        const audio = this.audioRef.el;
        this.state.loading = true;
        if (this.audioSize > WAVEFORM_MAX_BYTES) {
            audio.src = this.src;
            this.loaded = true;
            return;
        }
        const response = await fetch(this.src, { credentials: "same-origin" });
        if (!response.ok) {
            this.loadPromise = null;
            throw new Error(`HTTP ${response.status}`);
        }
        const data = await response.arrayBuffer();
        const type = response.headers.get("Content-Type") || "";
        this.objectUrl = URL.createObjectURL(new Blob([data], { type }));
        audio.src = this.objectUrl;
        this.loaded = true;
        this.drawWaveform(data);
    }

    async drawWaveform(data) {
        const AudioContextClass = window.AudioContext || window.webkitAudioContext;
        if (!AudioContextClass) {
            return;
        }
        const context = new AudioContextClass();
        try {
            const buffer = await context.decodeAudioData(data.slice(0));
            this.peaks = computePeaks(buffer, 1000);
            if (!this.state.duration && buffer.duration) {
                this.state.duration = buffer.duration;
            }
            this.state.waveform = true;
        } catch {
            // a format the browser cannot decode: the player still plays it
            this.peaks = null;
        } finally {
            context.close?.();
        }
    }

    // ------------------------------------------------------------------
    // Playing
    // ------------------------------------------------------------------

    async toggle() {
        const audio = this.audioRef.el;
        if (!audio) {
            return;
        }
        if (audio.paused) {
            this.state.error = false;
            try {
                await this.ensureLoaded();
                audio.playbackRate = this.state.rate;
                await audio.play();
            } catch {
                this.state.error = true;
            }
        } else {
            audio.pause();
        }
    }

    async seek(seconds, { play = false } = {}) {
        const audio = this.audioRef.el;
        if (!audio) {
            return;
        }
        try {
            await this.ensureLoaded();
        } catch {
            this.state.error = true;
            return;
        }
        const end = this.state.duration || audio.duration || 0;
        const target = Math.max(0, end ? Math.min(seconds, end) : seconds);
        audio.currentTime = target;
        this.state.current = target;
        if (play && audio.paused) {
            audio.playbackRate = this.state.rate;
            await audio.play().catch(() => {
                this.state.error = true;
            });
        }
    }

    skip(delta) {
        const audio = this.audioRef.el;
        const from = audio && this.loaded ? audio.currentTime : this.state.current;
        return this.seek(from + delta);
    }

    setRate(rate) {
        this.state.rate = rate;
        if (this.audioRef.el) {
            this.audioRef.el.playbackRate = rate;
        }
    }

    changeRate(step) {
        const index = SPEEDS.indexOf(this.state.rate);
        const next = SPEEDS[Math.min(Math.max(index + step, 0), SPEEDS.length - 1)];
        this.setRate(next);
    }

    onWaveformClick(ev) {
        const rect = ev.currentTarget.getBoundingClientRect();
        const ratio = Math.min(Math.max((ev.clientX - rect.left) / rect.width, 0), 1);
        const duration = this.state.duration || this.audioRef.el?.duration || 0;
        if (duration) {
            this.seek(ratio * duration);
        }
    }

    tick() {
        cancelAnimationFrame(this.frame);
        const audio = this.audioRef.el;
        if (!audio || audio.paused) {
            return;
        }
        this.state.current = audio.currentTime;
        this.frame = requestAnimationFrame(() => this.tick());
    }

    onLoadedMetadata() {
        const duration = this.audioRef.el.duration;
        if (Number.isFinite(duration) && duration > 0) {
            this.state.duration = duration;
        }
    }

    onTimeUpdate() {
        this.state.current = this.audioRef.el.currentTime;
        if (!this.state.duration && Number.isFinite(this.audioRef.el.duration)) {
            this.state.duration = this.audioRef.el.duration;
        }
    }

    onRateChange() {
        this.state.rate = this.audioRef.el.playbackRate;
    }

    onPlay() {
        this.state.playing = true;
        if (!this.props.compact) {
            this.tick();
        }
    }

    onPause() {
        this.state.playing = false;
        cancelAnimationFrame(this.frame);
        if (this.audioRef.el) {
            this.state.current = this.audioRef.el.currentTime;
        }
    }

    onError() {
        this.state.playing = false;
        this.state.error = true;
    }

    // ------------------------------------------------------------------
    // Keyboard
    // ------------------------------------------------------------------

    onKeydown(ev) {
        if (ev.target.closest("input, textarea, .o-dropdown--menu") || ev.ctrlKey || ev.metaKey || ev.altKey) {
            return;
        }
        const actions = {
            " ": () => this.toggle(),
            k: () => this.toggle(),
            ArrowLeft: () => this.skip(-SKIP_SECONDS),
            j: () => this.skip(-SKIP_SECONDS),
            ArrowRight: () => this.skip(SKIP_SECONDS),
            l: () => this.skip(SKIP_SECONDS),
            ">": () => this.changeRate(1),
            "<": () => this.changeRate(-1),
            c: () => this.openComment(),
            Home: () => this.seek(0),
        };
        const action = actions[ev.key] || actions[ev.key.toLowerCase()];
        if (action) {
            ev.preventDefault();
            ev.stopPropagation();
            action();
        }
    }

    // ------------------------------------------------------------------
    // Comments pinned to a moment
    // ------------------------------------------------------------------

    openComment() {
        const audio = this.audioRef.el;
        this.state.commentAt = Math.floor(audio && this.loaded ? audio.currentTime : this.state.current);
        this.state.commentOpen = true;
        this.state.commentText = "";
        setTimeout(() => this.commentRef.el?.focus());
    }

    closeComment() {
        this.state.commentOpen = false;
        this.state.commentText = "";
    }

    onCommentKeydown(ev) {
        if (ev.key === "Enter") {
            ev.preventDefault();
            this.postComment();
        } else if (ev.key === "Escape") {
            ev.preventDefault();
            ev.stopPropagation();
            this.closeComment();
        }
    }

    async postComment() {
        const text = this.state.commentText.trim();
        const resId = this.props.record.resId;
        if (!text || !resId || this.state.posting) {
            return;
        }
        this.state.posting = true;
        try {
            await this.orm.call("call.recording", "post_timed_comment", [
                [resId],
                this.state.commentAt,
                text,
            ]);
            this.closeComment();
            const store = this.env.services["mail.store"];
            if (store) {
                await store.Thread.insert({ model: "call.recording", id: resId }).fetchNewMessages();
            }
        } finally {
            this.state.posting = false;
        }
    }

    /** A click on a comment's time link in this call's chatter seeks there and plays. */
    onDocumentClick(ev) {
        const link = ev.target.closest?.("a[href]");
        if (!link) {
            return;
        }
        const match = (link.getAttribute("href") || "").match(SEEK_LINK_RE);
        if (!match || parseInt(match[1], 10) !== this.props.record.resId) {
            return;
        }
        ev.preventDefault();
        ev.stopPropagation();
        this.seek(parseInt(match[2], 10), { play: true });
    }

    // ------------------------------------------------------------------
    // Drawing
    // ------------------------------------------------------------------

    draw() {
        const canvas = this.canvasRef.el;
        if (!canvas) {
            return;
        }
        const ratio = window.devicePixelRatio || 1;
        const width = canvas.clientWidth;
        const height = canvas.clientHeight;
        if (!width || !height) {
            return;
        }
        if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
            canvas.width = Math.round(width * ratio);
            canvas.height = Math.round(height * ratio);
        }
        const ctx = canvas.getContext("2d");
        ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
        ctx.clearRect(0, 0, width, height);
        const style = getComputedStyle(canvas);
        const played = style.getPropertyValue("--o-call-wave-played").trim() || "#714b67";
        const rest = style.getPropertyValue("--o-call-wave-rest").trim() || "#ced4da";
        const bars = Math.max(1, Math.floor(width / (BAR_WIDTH + BAR_GAP)));
        const duration = this.state.duration;
        const progress = duration ? Math.min(this.state.current / duration, 1) : 0;
        const middle = height / 2;
        for (let i = 0; i < bars; i++) {
            let amplitude = 0.06;
            if (this.peaks) {
                const from = Math.floor((i * this.peaks.length) / bars);
                const to = Math.max(from + 1, Math.floor(((i + 1) * this.peaks.length) / bars));
                amplitude = Math.max(0.06, ...this.peaks.slice(from, to));
            }
            const barHeight = Math.max(2, amplitude * (height - 4));
            ctx.fillStyle = (i + 0.5) / bars <= progress ? played : rest;
            ctx.fillRect(i * (BAR_WIDTH + BAR_GAP), middle - barHeight / 2, BAR_WIDTH, barHeight);
        }
    }
}

export const callAudioPlayer = {
    component: CallAudioPlayer,
    displayName: _t("Call recording player"),
    supportedTypes: ["char"],
    extractProps: ({ options }) => ({
        compact: Boolean(options.compact),
        durationField: options.duration_field || "duration",
        sizeField: options.size_field || "audio_size",
    }),
};

export const listCallAudioPlayer = {
    ...callAudioPlayer,
    extractProps: (fieldInfo) => ({ ...callAudioPlayer.extractProps(fieldInfo), compact: true }),
};

registry.category("fields").add("call_audio_player", callAudioPlayer);
registry.category("fields").add("list.call_audio_player", listCallAudioPlayer);
