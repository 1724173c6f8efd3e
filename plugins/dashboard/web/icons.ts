// The feed's category icons as inline SVG strokes (16×16), so no symbol or emoji font is needed.
import { svg } from './dom.js'

const PATHS = {
  commands: 'M5 5h6v6H5zM5 5a2 2 0 1 1-2-2a2 2 0 0 1 2 2zM11 5a2 2 0 1 1 2-2a2 2 0 0 1-2 2zM5 11a2 2 0 1 0-2 2a2 2 0 0 0 2-2zM11 11a2 2 0 1 0 2 2a2 2 0 0 0-2-2z',
  rituals: 'M8 1.5v3M8 11.5v3M1.5 8h3M11.5 8h3M3.4 3.4l2.1 2.1M10.5 10.5l2.1 2.1M3.4 12.6l2.1-2.1M10.5 5.5l2.1-2.1M8 6a2 2 0 1 1 0 4a2 2 0 0 1 0-4z',
  alerts: 'M8 1.8L14.8 14H1.2zM8 6v4M8 12v.5',
  zapier: 'M9.5 1.5L3.5 9h4.5l-1.5 5.5L12.5 7H8z',
  voice: 'M8 1.5a2.2 2.2 0 0 1 2.2 2.2v4a2.2 2.2 0 0 1-4.4 0v-4A2.2 2.2 0 0 1 8 1.5zM3.8 7.5a4.2 4.2 0 0 0 8.4 0M8 11.8v2.7M5.5 14.5h5',
  system: 'M8 5.5a2.5 2.5 0 1 1 0 5a2.5 2.5 0 0 1 0-5zM8 1v2M8 13v2M1 8h2M13 8h2M3 3l1.4 1.4M11.6 11.6L13 13M3 13l1.4-1.4M11.6 4.4L13 3'
} as const

export type IconName = keyof typeof PATHS

export function icon(name: IconName): SVGSVGElement {
  const node = svg('svg', { class: 'icon', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true', 'data-icon': name })
  node.append(svg('path', { d: PATHS[name], fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }))
  return node
}
