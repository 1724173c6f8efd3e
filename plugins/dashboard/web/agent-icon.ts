// An agent's icon as inline SVG: its initial on a shape that says its tier, in a colour derived from
// its slug. Emoji need a colour emoji font, which many Linux desktops and headless browsers lack.
import { svg } from './dom.js'

/** One outline per tier, drawn in a 40×40 box. */
const TIER_SHAPES: Record<string, string> = {
  inner_core: 'M20 2a18 18 0 1 1 0 36a18 18 0 1 1 0-36z',
  middle_ring: 'M20 2l15.6 9v18L20 38L4.4 29V11z',
  outer_ring: 'M20 2l18 18l-18 18L2 20z',
  implicit: 'M8 3h24a5 5 0 0 1 5 5v24a5 5 0 0 1-5 5H8a5 5 0 0 1-5-5V8a5 5 0 0 1 5-5z',
  operational: 'M20 2l17 12.4l-6.5 20H9.5L3 14.4z',
  integration: 'M14 2h12l12 12v12L26 38H14L2 26V14z'
}

/** A stable hue per slug, so an agent keeps its colour across reloads and pages. */
export function agentHue(slug: string): number {
  let hash = 2166136261
  for (let i = 0; i < slug.length; i++) hash = Math.imul(hash ^ slug.charCodeAt(i), 16777619)
  return (hash >>> 0) % 360
}

export function agentColour(slug: string): string {
  return `hsl(${agentHue(slug)} 80% 70%)`
}

export function agentIcon(agent: { slug: string; name: string; tier: string }): SVGSVGElement {
  const colour = agentColour(agent.slug)
  const icon = svg('svg', { class: 'agent-icon', viewBox: '0 0 40 40', width: 40, height: 40, 'aria-hidden': 'true', 'data-icon': agent.slug })
  const shape = svg('path', { d: TIER_SHAPES[agent.tier] ?? TIER_SHAPES.inner_core, fill: colour, 'fill-opacity': 0.16, stroke: colour, 'stroke-width': 2, 'stroke-linejoin': 'round' })
  const initial = svg('text', {
    x: 20, y: 21, 'text-anchor': 'middle', 'dominant-baseline': 'central', fill: colour,
    'font-size': 17, 'font-weight': 800, 'font-family': 'system-ui, sans-serif'
  })
  initial.textContent = (agent.name.trim()[0] ?? agent.slug[0] ?? '?').toUpperCase()
  icon.append(shape, initial)
  return icon
}
