/** Series colors readable on the light and dark themes (SVG fills cannot read the stylesheet's variables everywhere). */
export const CHART_COLORS = {
  baseline: '#8a94a3',
  candidate: '#3b6fe0',
  secondary: '#e0a33b',
} as const
