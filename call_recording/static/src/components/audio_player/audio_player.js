import { Component, useRef, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * Plays a call's recording from the add-on's audio route.
 *
 * The route checks access and logs the play; `preload="none"` makes sure
 * nothing is fetched (nor logged) until the user presses play.  In lists
 * the control is a compact play/pause button with the elapsed time; on the
 * form it is the browser's own player, which can seek (Range requests),
 * with a download button beside it.
 */
export class CallAudioPlayer extends Component {
    static template = "call_recording.CallAudioPlayer";
    static props = {
        ...standardFieldProps,
        compact: { type: Boolean, optional: true },
    };

    setup() {
        this.audioRef = useRef("audio");
        this.state = useState({ playing: false, current: 0, duration: 0, error: false });
    }

    get src() {
        return this.props.record.data[this.props.name] || "";
    }

    get downloadUrl() {
        return `${this.src}?download=1`;
    }

    get playTitle() {
        return this.state.playing ? _t("Pause") : _t("Play recording");
    }

    formatTime(seconds) {
        if (!Number.isFinite(seconds) || seconds < 0) {
            return "0:00";
        }
        const total = Math.floor(seconds);
        const minutes = Math.floor(total / 60);
        const secs = String(total % 60).padStart(2, "0");
        return `${minutes}:${secs}`;
    }

    async toggle() {
        const audio = this.audioRef.el;
        if (!audio) {
            return;
        }
        if (audio.paused) {
            this.state.error = false;
            try {
                await audio.play();
            } catch {
                this.state.error = true;
            }
        } else {
            audio.pause();
        }
    }

    onLoadedMetadata() {
        this.state.duration = this.audioRef.el.duration;
    }

    onTimeUpdate() {
        this.state.current = this.audioRef.el.currentTime;
        if (!this.state.duration && Number.isFinite(this.audioRef.el.duration)) {
            this.state.duration = this.audioRef.el.duration;
        }
    }

    onPlay() {
        this.state.playing = true;
    }

    onPause() {
        this.state.playing = false;
    }

    onError() {
        this.state.playing = false;
        this.state.error = true;
    }
}

export const callAudioPlayer = {
    component: CallAudioPlayer,
    displayName: _t("Call recording player"),
    supportedTypes: ["char"],
    extractProps: ({ options }) => ({ compact: Boolean(options.compact) }),
};

export const listCallAudioPlayer = {
    ...callAudioPlayer,
    extractProps: () => ({ compact: true }),
};

registry.category("fields").add("call_audio_player", callAudioPlayer);
registry.category("fields").add("list.call_audio_player", listCallAudioPlayer);
