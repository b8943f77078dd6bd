import { fromBinary } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { DescriptorProto, EnumDescriptorProto, FileDescriptorProto } from "@bufbuild/protobuf/wkt";

/** protoc's name for the implicit map entry of field `name` (Go protodesc's `mapEntryName`). */
export function mapEntryName(name: string): string {
  let out = "";
  let upper = true;
  for (const c of name) {
    if (c === "_") upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return `${out}Entry`;
}

const MAP_KEY_TYPES = new Set([
  Type.BOOL, Type.INT32, Type.SINT32, Type.SFIXED32, Type.INT64, Type.SINT64, Type.SFIXED64,
  Type.UINT32, Type.FIXED32, Type.UINT64, Type.FIXED64, Type.STRING,
]);

/** The types each file declares, by full name with a leading dot, as protoc writes type_name. */
function declaredTypes(file: FileDescriptorProto): Map<string, DescriptorProto | EnumDescriptorProto> {
  const types = new Map<string, DescriptorProto | EnumDescriptorProto>();
  const walk = (scope: string, messages: DescriptorProto[], enums: EnumDescriptorProto[]): void => {
    for (const e of enums) types.set(`${scope}.${e.name}`, e);
    for (const m of messages) {
      types.set(`${scope}.${m.name}`, m);
      walk(`${scope}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  walk(file.package ? `.${file.package}` : "", file.messageType, file.enumType);
  return types;
}

/**
 * Checks descriptor files as strictly as Go's protodesc.NewFiles (what grpcurl uses) does for
 * what keypool serves: every import is in the set; every type name resolves to a type of the
 * file or of a file it imports (directly or through public imports); map fields point at a
 * nested entry named as protoc names it (`StatusesEntry`), repeated, with exactly `key` = 1 and
 * `value` = 2 and nothing nested; proto3 enums start at 0; proto3 field names do not collide.
 * Returns the problems found, one line each (empty: the set is valid).
 */
export function strictDescriptorProblems(encoded: readonly Uint8Array[]): string[] {
  const files = new Map<string, FileDescriptorProto>();
  for (const bytes of encoded) {
    const file = fromBinary(FileDescriptorProtoSchema, bytes);
    files.set(file.name, file);
  }
  const problems: string[] = [];
  const typesOf = new Map([...files].map(([name, file]) => [name, declaredTypes(file)]));
  const visible = (file: FileDescriptorProto): Map<string, DescriptorProto | EnumDescriptorProto> => {
    const all = new Map(typesOf.get(file.name));
    const addPublic = (dep: FileDescriptorProto, seen: Set<string>): void => {
      if (seen.has(dep.name)) return;
      seen.add(dep.name);
      for (const [k, v] of typesOf.get(dep.name) ?? []) all.set(k, v);
      for (const i of dep.publicDependency) {
        const pub = files.get(dep.dependency[i]!);
        if (pub) addPublic(pub, seen);
      }
    };
    for (const dep of file.dependency) {
      const d = files.get(dep);
      if (!d) problems.push(`${file.name}: imports ${dep}, which is not in the set`);
      else addPublic(d, new Set());
    }
    return all;
  };
  for (const file of files.values()) {
    if (!file.name) problems.push("a file has no name");
    const declared = visible(file);
    // A relative name resolves from the innermost scope outwards (protoc's C++ scoping rules).
    const types = {
      get: (name: string, scope: string) => {
        if (name.startsWith(".")) return declared.get(name);
        for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf(".")))) {
          const found = declared.get(`${s}.${name}`);
          if (found || s === "") return found;
        }
      },
      has: (name: string, scope: string) => types.get(name, scope) !== undefined,
    };
    const proto3 = file.syntax === "proto3";
    const checkEnum = (scope: string, e: EnumDescriptorProto): void => {
      if (e.value.length === 0) problems.push(`${file.name}: enum ${scope}.${e.name} has no values`);
      else if (proto3 && e.value[0]!.number !== 0) problems.push(`${file.name}: proto3 enum ${scope}.${e.name} must start at 0`);
    };
    const checkMessage = (scope: string, m: DescriptorProto): void => {
      const full = `${scope}.${m.name}`;
      const lowered = new Set<string>();
      for (const f of m.field) {
        const folded = f.name.toLowerCase().replaceAll("_", "");
        if (proto3 && lowered.has(folded)) problems.push(`${file.name}: ${full}.${f.name} collides with another field`);
        lowered.add(folded);
        if (f.typeName === "") continue;
        const target = types.get(f.typeName, full);
        if (!target) {
          problems.push(`${file.name}: ${full}.${f.name} refers to ${f.typeName}, which it does not declare or import`);
          continue;
        }
        if (!("field" in target) || !target.options?.mapEntry) continue;
        const where = `${file.name}: map field ${full}.${f.name}`;
        if (types.get(`${full}.${target.name}`, "") !== target) problems.push(`${where}: its entry must be declared within ${full}`);
        if (target.name !== mapEntryName(f.name)) problems.push(`${where}: incorrect implicit map entry name ${target.name} (protoc: ${mapEntryName(f.name)})`);
        if (f.label !== Label.REPEATED) problems.push(`${where}: must be repeated`);
        const [k, v] = target.field;
        if (target.field.length !== 2) problems.push(`${where}: its entry must have exactly two fields`);
        if (target.nestedType.length + target.enumType.length + target.extension.length > 0) problems.push(`${where}: its entry must not nest declarations`);
        if (k?.name !== "key" || k.number !== 1 || k.label !== Label.OPTIONAL || !MAP_KEY_TYPES.has(k.type)) problems.push(`${where}: invalid key field`);
        if (v?.name !== "value" || v.number !== 2 || v.label !== Label.OPTIONAL) problems.push(`${where}: invalid value field`);
      }
      for (const n of m.nestedType) checkMessage(full, n);
      for (const e of m.enumType) checkEnum(full, e);
    };
    const pkg = file.package ? `.${file.package}` : "";
    for (const m of file.messageType) checkMessage(pkg, m);
    for (const e of file.enumType) checkEnum(pkg, e);
    for (const service of file.service) {
      for (const method of service.method) {
        for (const t of [method.inputType, method.outputType]) {
          if (!types.has(t, pkg)) problems.push(`${file.name}: ${service.name}.${method.name} refers to ${t}, which it does not declare or import`);
        }
      }
    }
  }
  return problems;
}
