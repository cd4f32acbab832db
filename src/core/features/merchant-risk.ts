// A static prior of fraud risk per merchant category, in [0, 1]. Judgement, not data: it
// ranks categories by how easily stolen value leaves the system (irreversible transfers and
// crypto first, everyday local spending last). Detectors learn their own weights on top.

export const merchantRiskTable: Readonly<Record<string, number>> = Object.freeze({
  // irreversible, cross-border or anonymous value transfer
  crypto: 0.9,
  wire_transfer: 0.9,
  gambling: 0.8,
  gift_cards: 0.75,
  // card-not-present, resellable goods
  electronics: 0.5,
  online: 0.45,
  travel: 0.4,
  jewelry: 0.6,
  // ordinary spending
  entertainment: 0.25,
  retail: 0.2,
  transportation: 0.15,
  gas: 0.15,
  restaurant: 0.1,
  food_service: 0.1,
  pharmacy: 0.1,
  utilities: 0.05,
  government: 0.05,
  grocery: 0.05,
})

/** Risk of a category not in the table: in the middle, neither trusted nor suspected. */
export const unknownMerchantRisk = 0.5

export function merchantRisk(category: string): number {
  return Object.hasOwn(merchantRiskTable, category) ? merchantRiskTable[category]! : unknownMerchantRisk
}
