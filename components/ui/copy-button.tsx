"use client";
/**
 * Copies a text to the clipboard. Says whether it worked: the clipboard API is missing on
 * plain-http origins other than localhost and may be refused, and a "Copied" that copied
 * nothing would send an investigator off with the wrong evidence.
 */
import { useState } from "react";

export function CopyButton({ text, label = "Copy", testId }: { text: string; label?: string; testId?: string }) {
  const [outcome, setOutcome] = useState<"copied" | "failed" | null>(null);
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      setOutcome("copied");
    } catch {
      setOutcome("failed");
    }
  };
  return (
    <button type="button" className="btn btn-sm" onClick={() => void copy()} data-testid={testId}>
      {outcome === "copied" ? "Copied" : outcome === "failed" ? "Copy failed: select the text instead" : label}
    </button>
  );
}
