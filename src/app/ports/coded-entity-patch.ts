/** The editable fields of the entities identified by a code (publishers, topics). */
export interface CodedEntityPatch {
  name?: string;
  description?: string;
  isActive?: boolean;
}
