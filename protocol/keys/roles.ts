/** Who may sign what: every trusted key has exactly one role. */
export const roles = ['master', 'agent', 'framework', 'operator'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}
