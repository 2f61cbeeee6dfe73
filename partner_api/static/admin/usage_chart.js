// The usage chart: a credential's calls per bucket as bars stacked by status class (2xx at the
// bottom, then 4xx, then 5xx), drawn as SVG by this module. The plot stretches to its box
// (preserveAspectRatio="none"), so the bars fill any width; the axis labels are HTML beside and
// under it, so their text keeps its size on a phone. Colours come from CSS variables (admin.css),
// so dark mode needs nothing here. For assistive technology the plot is one image labelled with
// a summary in words; the legend carries the totals as text, and every bar has a tooltip.

import { h } from "./dom.js";
import { formatNumber } from "./format.js";

// The SVG namespace is an identifier, not an address: nothing is loaded from it.
const SVG_NAMESPACE = "http://www.w3.org/2000/svg";
export const STATUS_CLASSES = [
  ["calls2xx", "2xx", "successful"],
  ["calls4xx", "4xx", "client errors"],
  ["calls5xx", "5xx", "server errors"],
];
// viewBox units: each bucket is SLOT wide with a GAP between bars; the plot is HEIGHT tall.
const SLOT = 10;
const GAP = 2;
const HEIGHT = 100;
// Label every nth bucket on the time axis, by the number of buckets: every 15 minutes of an hour,
// every 6 hours of a day, every day of a week, every week of 30 days.
const LABEL_EVERY = { 60: 15, 24: 6, 7: 1, 30: 7 };

const MINUTE = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
// Day buckets are UTC days: named as such, so a reader west of UTC sees the same day.
const DAY = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NAMESPACE, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  element.append(...children.flat(Infinity));
  return element;
}

/** The top of the value axis: the smallest 2, 4, 6, 8 or 10 × 10ⁿ at or above `value`, so the
 * middle gridline is a whole number too. */
export function axisMaximum(value) {
  let scale = 1;
  for (;;) {
    for (const step of [2, 4, 6, 8, 10]) {
      if (step * scale >= value) {
        return step * scale;
      }
    }
    scale *= 10;
  }
}

/** A bucket's start as the time axis names it: a time of day, or a (UTC) day. */
export function bucketLabel(iso, bucketSeconds) {
  return bucketSeconds >= 86400 ? DAY.format(new Date(iso)) : MINUTE.format(new Date(iso));
}

/** What one bucket covers, for its tooltip: "14:05", "14:00–15:00" or "12 Jul". */
function bucketSpan(iso, bucketSeconds) {
  if (bucketSeconds >= 86400 || bucketSeconds <= 60) {
    return bucketLabel(iso, bucketSeconds);
  }
  const start = new Date(iso);
  return MINUTE.formatRange(start, new Date(start.getTime() + bucketSeconds * 1000));
}

function busiest(series) {
  return series.reduce((best, point) => (best === null || point.calls > best.calls ? point : best), null);
}

/** The chart's text alternative: what it shows, the totals by class and the busiest bucket. */
export function chartSummary(usage, rangeWords, bucketWords) {
  const classes = STATUS_CLASSES.map(([key, label]) => `${formatNumber(usage[key])} ${label}`).join(", ");
  const peak = busiest(usage.series);
  const peakText = peak && peak.calls > 0
    ? ` The busiest ${bucketWords}, ${bucketSpan(peak.start, usage.bucketSeconds)}, had ${formatNumber(peak.calls)}.`
    : "";
  return `Calls by status class over ${rangeWords}, one bar per ${bucketWords}: ` +
    `${formatNumber(usage.calls)} calls (${classes}).${peakText}`;
}

function bars(series, bucketSeconds, top) {
  return series.map((point, index) => {
    const tooltip = `${bucketSpan(point.start, bucketSeconds)}: ${formatNumber(point.calls)} calls (` +
      STATUS_CLASSES.map(([key, label]) => `${formatNumber(point[key])} ${label}`).join(", ") + ")";
    const group = svg("g", { class: "usage-bucket", "data-start": point.start, "data-calls": point.calls }, svg("title", {}, tooltip));
    let base = HEIGHT;
    for (const [key, label] of STATUS_CLASSES) {
      const height = (point[key] / top) * HEIGHT;
      if (height > 0) {
        base -= height;
        group.append(svg("rect", {
          class: `usage-bar usage-bar-${label}`,
          x: index * SLOT + GAP / 2,
          y: base,
          width: SLOT - GAP,
          height,
        }));
      }
    }
    return group;
  });
}

function timeAxis(series, bucketSeconds) {
  const every = LABEL_EVERY[series.length] || Math.max(1, Math.ceil(series.length / 5));
  return h(
    "div",
    { class: "usage-x-axis", "aria-hidden": "true" },
    series.map((point, index) => h("span", {
      class: index === 0 ? "usage-tick usage-tick-first" : "usage-tick",
      text: index % every === 0 ? bucketLabel(point.start, bucketSeconds) : "",
    })),
  );
}

/**
 * The chart for a `Usage` (CredentialUsage's selection): `rangeWords` names the range ("the
 * last 24 hours") and `bucketWords` one bucket ("hour") in the text alternative.
 */
export function usageChart(usage, { rangeWords, bucketWords }) {
  const series = usage.series;
  const top = axisMaximum(Math.max(0, ...series.map((point) => point.calls)));
  const width = Math.max(1, series.length) * SLOT;
  const summary = chartSummary(usage, rangeWords, bucketWords);
  const plot = svg(
    "svg",
    {
      class: "usage-plot-svg", viewBox: `0 0 ${width} ${HEIGHT}`, preserveAspectRatio: "none",
      role: "img", "aria-label": summary, focusable: "false",
    },
    svg("title", {}, summary),
    [0, HEIGHT / 2, HEIGHT].map((y) => svg("line", {
      class: y === HEIGHT ? "usage-baseline" : "usage-gridline", x1: 0, x2: width, y1: y, y2: y,
      "vector-effect": "non-scaling-stroke",
    })),
    bars(series, usage.bucketSeconds, top),
  );
  const legend = h(
    "ul",
    { class: "usage-legend" },
    STATUS_CLASSES.map(([key, label, words]) => h(
      "li",
      { "data-class": label },
      h("span", { class: `usage-swatch usage-swatch-${label}`, "aria-hidden": "true" }),
      h("span", { class: "usage-legend-label", text: `${label} ${words}` }),
      h("span", { class: "usage-legend-value", text: formatNumber(usage[key]) }),
    )),
  );
  return h(
    "figure",
    { class: "usage-chart" },
    h(
      "div",
      { class: "usage-chart-frame" },
      h(
        "div",
        { class: "usage-y-axis", "aria-hidden": "true" },
        [top, top / 2, 0].map((value) => h("span", { text: formatNumber(value) })),
      ),
      h("div", { class: "usage-plot" }, plot),
      timeAxis(series, usage.bucketSeconds),
    ),
    h("figcaption", {}, legend),
  );
}
