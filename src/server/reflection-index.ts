import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet } from "@bufbuild/protobuf/wkt";

/** What a reflection lookup answers: descriptor files (the one asked for first, then its imports). */
export type FileAnswer = { readonly files: readonly Uint8Array[] } | { readonly notFound: string };

/**
 * The symbols and files of a descriptor set, indexed once for server reflection: every message,
 * field, oneof, enum, enum value, service, method and extension by full name, every file by
 * name, with the encoded bytes of each file and the closure of its imports. Built in O(symbols);
 * every lookup is O(1) plus the size of the answer.
 */
export class ReflectionIndex {
  private readonly files = new Map<string, FileDescriptorProto>();
  private readonly encoded = new Map<string, Uint8Array>();
  private readonly symbols = new Map<string, string>();
  private readonly messages = new Set<string>();
  /** extendee full name -> field number -> file name. */
  private readonly extensions = new Map<string, Map<number, string>>();

  constructor(set: FileDescriptorSet) {
    for (const file of set.file) {
      this.files.set(file.name, file);
      this.encoded.set(file.name, toBinary(FileDescriptorProtoSchema, file));
      const prefix = file.package ? `${file.package}.` : "";
      for (const message of file.messageType) this.addMessage(file, prefix, message);
      for (const e of file.enumType) this.addEnum(file, prefix, e);
      for (const ext of file.extension) this.addExtension(file, prefix, ext.name, ext.extendee, ext.number);
      for (const service of file.service) {
        this.symbols.set(prefix + service.name, file.name);
        for (const method of service.method) this.symbols.set(`${prefix}${service.name}.${method.name}`, file.name);
      }
    }
  }

  /** The file declaring `symbol` (any fully-qualified name, no leading dot), with its imports. */
  fileContainingSymbol(symbol: string): FileAnswer {
    const name = this.symbols.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
    return name === undefined ? { notFound: `symbol not found: ${clip(symbol)}` } : this.withImports(name);
  }

  /** The file named `name` (e.g. `keypool/v1/keypool.proto`), with its imports. */
  fileByFilename(name: string): FileAnswer {
    return this.files.has(name) ? this.withImports(name) : { notFound: `file not found: ${clip(name)}` };
  }

  /** The file declaring extension `number` of message `extendee`, with its imports. */
  fileContainingExtension(extendee: string, number: number): FileAnswer {
    const name = this.extensions.get(extendee)?.get(number);
    return name === undefined ? { notFound: `extension ${number} of ${clip(extendee)} not found` } : this.withImports(name);
  }

  /** The extension numbers known for message `type` (none here), or undefined for an unknown type. */
  extensionNumbers(type: string): number[] | undefined {
    if (!this.messages.has(type)) return undefined;
    return [...(this.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
  }

  private withImports(name: string): FileAnswer {
    const order: string[] = [];
    const visit = (file: string): void => {
      if (order.includes(file) || !this.files.has(file)) return;
      order.push(file);
      for (const dep of this.files.get(file)!.dependency) visit(dep);
    };
    visit(name);
    return { files: order.map((file) => this.encoded.get(file)!) };
  }

  private addMessage(file: FileDescriptorProto, prefix: string, message: DescriptorProto): void {
    const full = prefix + message.name;
    this.symbols.set(full, file.name);
    this.messages.add(full);
    for (const field of message.field) this.symbols.set(`${full}.${field.name}`, file.name);
    for (const oneof of message.oneofDecl) this.symbols.set(`${full}.${oneof.name}`, file.name);
    for (const nested of message.nestedType) this.addMessage(file, `${full}.`, nested);
    for (const e of message.enumType) this.addEnum(file, `${full}.`, e);
    for (const ext of message.extension) this.addExtension(file, `${full}.`, ext.name, ext.extendee, ext.number);
  }

  private addEnum(file: FileDescriptorProto, prefix: string, e: EnumDescriptorProto): void {
    this.symbols.set(prefix + e.name, file.name);
    // Enum values are scoped like their enum's siblings (C++ scoping rules).
    for (const value of e.value) this.symbols.set(prefix + value.name, file.name);
  }

  private addExtension(file: FileDescriptorProto, prefix: string, name: string, extendee: string, number: number): void {
    this.symbols.set(prefix + name, file.name);
    const target = extendee.startsWith(".") ? extendee.slice(1) : extendee;
    const byNumber = this.extensions.get(target) ?? new Map<number, string>();
    byNumber.set(number, file.name);
    this.extensions.set(target, byNumber);
  }
}

/** A name from a request, short enough for a message. */
function clip(name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}…` : name;
}
