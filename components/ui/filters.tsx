"use client";
/** Filter controls bound to URL parameters. Text inputs debounce so typing doesn't thrash the URL. */
import { useEffect, useState } from "react";
import { useUrlState } from "./url-state";

export function TextFilter({ name, label, placeholder, width = 200 }: { name: string; label: string; placeholder?: string; width?: number }) {
  const { get, set } = useUrlState();
  const urlValue = get(name);
  const [value, setValue] = useState(urlValue);
  const [followed, setFollowed] = useState(urlValue);
  // Follows the URL (back, "clear filters"), but keeps what is being typed when the URL only
  // holds it trimmed ("a " stays "a ", so the next key makes "a b", not "ab"). Derived during
  // render from the URL seen last (React's pattern for it), not in an effect.
  if (urlValue !== followed) {
    setFollowed(urlValue);
    if (value.trim() !== urlValue) setValue(urlValue);
  }
  useEffect(() => {
    if (value.trim() === urlValue) return;
    const t = setTimeout(() => set({ [name]: value.trim() || null }), 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <label className="field">
      <span>{label}</span>
      <input type="search" name={name} value={value} placeholder={placeholder} style={{ width }} onChange={(e) => setValue(e.target.value)} />
    </label>
  );
}

export function SelectFilter({ name, label, options }: { name: string; label: string; options: readonly (string | { value: string; label: string })[] }) {
  const { get, set } = useUrlState();
  return (
    <label className="field">
      <span>{label}</span>
      <select name={name} value={get(name)} onChange={(e) => set({ [name]: e.target.value || null })}>
        <option value="">Any</option>
        {options.map((o) => {
          const v = typeof o === "string" ? o : o.value;
          const l = typeof o === "string" ? o : o.label;
          return (
            <option key={v} value={v}>
              {l}
            </option>
          );
        })}
      </select>
    </label>
  );
}

export function ClearFilters({ keys }: { keys: string[] }) {
  const { all, set } = useUrlState();
  const active = keys.some((k) => all[k]);
  return (
    <button type="button" className="btn btn-sm btn-ghost" disabled={!active} onClick={() => set(Object.fromEntries(keys.map((k) => [k, null])))}>
      Clear filters
    </button>
  );
}
