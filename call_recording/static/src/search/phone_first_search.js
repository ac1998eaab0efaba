import { patch } from "@web/core/utils/patch";
import { SearchBar } from "@web/search/search_bar/search_bar";

/** Search views whose field of this name finds records by any form of a phone number. */
export const PHONE_SEARCH_FIELD = "phone_search";

/**
 * Whether what was typed is a phone number rather than words or a
 * reference: digits with the usual separators (``06 30 123 4567``,
 * ``+36 (1) 555-0100``, ``1234567``), at least three digits.
 */
export function isNumberLike(text) {
    const value = (text || "").trim();
    return /^\+?[\d\s()./-]+$/.test(value) && (value.match(/\d/g) || []).length >= 3;
}

/**
 * In a search view with a ``phone_search`` field, a number-like input
 * offers the phone number search first, so that Enter searches by number
 * (the reference and the other fields stay in the list below it).
 */
patch(SearchBar.prototype, {
    async computeState(options = {}) {
        await super.computeState(options);
        if (!isNumberLike(this.state.query)) {
            return;
        }
        const phoneItem = this.items.find((item) => {
            const searchItem = item.searchItemId && this.getSearchItem(item.searchItemId);
            return searchItem?.type === "field" && searchItem.fieldName === PHONE_SEARCH_FIELD;
        });
        const index = phoneItem ? this.items.indexOf(phoneItem) : -1;
        if (index > 0) {
            this.items.splice(index, 1);
            this.items.unshift(phoneItem);
        }
    },
});
