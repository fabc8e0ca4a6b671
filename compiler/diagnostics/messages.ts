/**
 * The diagnostic catalog: every user-visible message with a stable code (printed as ATTNnnnn).
 * Code ranges: 1xxx lexing/parsing · 2xxx names and declarations · 3xxx shapes and dtypes ·
 * 4xxx targets and capabilities · 5xxx runtime · 9xxx internal compiler errors.
 * Codes are never reused; add new entries at the end of their range.
 */

export type Category = "error" | "warning" | "info";

export interface Message {
  readonly code: number;
  readonly category: Category;
  /** Text with {0}, {1}… placeholders. */
  readonly text: string;
}

const m = (code: number, category: Category, text: string): Message => ({ code, category, text });

export const Diagnostics = {
  // 1xxx — lexing and parsing
  Unexpected_character_0: m(1001, "error", "Unexpected character '{0}'."),
  Unterminated_string_literal: m(1002, "error", "Unterminated string literal."),
  Unterminated_block_comment: m(1003, "error", "Unterminated block comment."),
  _0_expected_found_1: m(1005, "error", "{0} expected, found '{1}'."),
  Unexpected_0: m(1009, "error", "Unexpected '{0}'."),
  Expression_expected_found_0: m(1010, "error", "Expression expected, found '{0}'."),
  Declaration_expected_found_0: m(1011, "error", "Declaration expected (import, param, graph or fn), found '{0}'."),
  Invalid_number_0: m(1012, "error", "Invalid number literal '{0}'."),
  Unexpected_end_of_file: m(1013, "error", "Unexpected end of file."),
  Lambda_only_as_argument: m(1014, "error", "A lambda can only be passed as an argument (an attention hook or an iterate step)."),
  Invalid_let_target: m(1015, "error", "Invalid target of 'let'."),
  Expression_statement_has_no_effect: m(1016, "error", "This expression has no effect; bind it with 'let' or 'return' it."),
  Graph_has_no_return: m(1017, "error", "Graph '{0}' has no 'return' statement."),
  Statement_after_return: m(1018, "error", "Unreachable statement after 'return'."),
  Nesting_too_deep: m(1019, "error", "This is nested too deeply for the compiler; split it into several 'let' statements."),
  Reduction_operand_needs_parens_0: m(1020, "error", "A reduction used as an operand must be in parentheses, e.g. 'x / ({0}(j) e[j])'."),

  // 2xxx — names and declarations
  Cannot_find_name_0: m(2001, "error", "Cannot find name '{0}'."),
  Duplicate_name_0: m(2002, "error", "Duplicate name '{0}'."),
  Cannot_find_module_0: m(2003, "error", "Cannot find module '{0}'."),
  Module_0_has_no_export_1: m(2004, "error", "Module '{0}' has no exported function or graph '{1}'."),
  Unknown_function_0: m(2005, "error", "Unknown function '{0}'."),
  _0_expects_1_arguments_got_2: m(2006, "error", "'{0}' expects {1} argument(s), got {2}."),
  _0_has_no_parameter_named_1: m(2007, "error", "'{0}' has no parameter named '{1}'."),
  Argument_0_given_twice: m(2008, "error", "Argument '{0}' is given twice."),
  Missing_argument_0_of_1: m(2009, "error", "Missing argument '{0}' of '{1}'."),
  Argument_0_of_1_must_be_2_got_3: m(2010, "error", "Argument '{0}' of '{1}' must be {2}, got {3}."),
  Unknown_param_0: m(2011, "error", "Unknown param '{0}' (given with -D)."),
  Param_0_must_be_1_got_2: m(2012, "error", "Param '{0}' must be {1}, got {2}."),
  Unknown_dtype_0: m(2013, "error", "Unknown dtype '{0}'; expected one of f32, f16, bf16, i32, u32, bool."),
  Unknown_graph_0: m(2014, "error", "No graph named '{0}' in this module."),
  Recursive_call_0: m(2015, "error", "'{0}' calls itself; recursion is not supported (use iterate)."),
  Index_variable_0_not_bound: m(2016, "error", "Index variable '{0}' is not bound on the left of 'let' or by a reduction."),
  Cannot_infer_extent_of_0: m(2017, "error", "Cannot infer the extent of index variable '{0}'; give it explicitly, e.g. '{0}: N'."),
  Unknown_member_0_of_1: m(2018, "error", "'{1}' has no member '{0}'."),
  Value_0_is_not_callable: m(2019, "error", "'{0}' is not a function."),
  Tuple_arity_0_vs_1: m(2020, "error", "Cannot destructure {1} value(s) into {0} name(s)."),
  Graph_0_has_multiple_returns: m(2021, "error", "Graph '{0}' has more than one 'return'."),
  Name_0_is_a_1_not_a_tensor: m(2022, "error", "'{0}' is a {1}, not a tensor."),
  Unknown_attention_return_0: m(2023, "error", "Unknown attention side output '{0}'; expected lse, probs(rows: ...) or mass(keys: ...)."),
  Import_cycle_0: m(2024, "error", "Import cycle through '{0}'."),
  Unused_param_0: m(2025, "warning", "Param '{0}' is never used."),
  Positional_argument_after_named: m(2026, "error", "A positional argument cannot follow a named one."),
  Graph_input_cannot_have_default: m(2027, "error", "A graph input cannot have a default value; give it as an input or make it a param."),
  Too_many_inlined_calls_0_1: m(2028, "error", "Inlining '{0}' would expand more than {1} fn calls (fns are inlined at every call, so nested calls multiply)."),

  // 3xxx — shapes, dims and dtypes
  Shapes_0_and_1_cannot_broadcast: m(3001, "error", "Shapes {0} and {1} cannot be broadcast together."),
  Matmul_inner_dims_0_and_1_differ: m(3002, "error", "Matrix product needs equal inner dims: {0} @ {1}."),
  Rank_0_expected_got_1: m(3003, "error", "Expected a tensor of rank {0}, got rank {1} ({2})."),
  Axis_0_out_of_range_for_rank_1: m(3004, "error", "Axis {0} is out of range for a tensor of rank {1}."),
  Dim_0_inconsistent_1_vs_2: m(3005, "error", "Dim '{0}' is bound to {1} here but to {2} elsewhere."),
  Dim_0_not_bound: m(3006, "error", "Dim '{0}' is not bound by any graph input."),
  Return_shape_0_declared_1: m(3007, "error", "Returned shape {0} does not match the declared {1}."),
  Return_dtype_0_declared_1: m(3008, "error", "Returned dtype {0} does not match the declared {1}."),
  Dtype_mismatch_0_1_in_2: m(3009, "error", "Dtype mismatch: {0} and {1} in {2}."),
  Operator_0_needs_1_got_2: m(3010, "error", "'{0}' needs {1} operands, got {2}."),
  Wrong_number_of_indices_0_for_rank_1: m(3011, "error", "{0} index(es) given for a tensor of rank {1}."),
  Tensor_0_used_without_indices: m(3012, "error", "Tensor '{0}' of rank {1} is used without indices inside index notation."),
  Index_must_be_integer_got_0: m(3013, "error", "An index must be an integer, got {0}."),
  Extent_0_of_1_conflicts_with_2: m(3014, "error", "Index variable '{1}' ranges over {0} here but over {2} elsewhere."),
  Not_a_compile_time_int_0: m(3015, "error", "Expected a compile-time integer, got {0}."),
  Reshape_0_to_1_changes_size: m(3016, "error", "Cannot reshape {0} to {1}: the element counts differ."),
  Dim_0_not_divisible_by_1: m(3017, "error", "Dim {0} is not divisible by {1}."),
  Condition_must_be_bool_got_0: m(3018, "error", "A condition must be bool, got {0}."),
  Returns_0_values_declared_1: m(3019, "error", "Returns {0} value(s) but {1} are declared."),
  Division_by_zero: m(3020, "error", "Division by zero in a compile-time expression."),
  K_0_exceeds_dim_1: m(3021, "error", "k = {0} exceeds the dim {1} it selects from."),
  Bits_must_be_2_3_4_or_8_got_0: m(3022, "error", "Quantization bits must be 2, 3, 4 or 8, got {0}."),
  Hook_0_expects_1_params_got_2: m(3023, "error", "The '{0}' hook takes {1} parameters ({3}), got {2}."),
  Hook_0_must_return_1_got_2: m(3024, "error", "The '{0}' hook must return {1}, got {2}."),
  Iterate_state_0_changes_type_1_to_2: m(3025, "error", "Iterate state '{0}' changes from {1} to {2} in one step."),
  Dim_must_be_nonnegative_0: m(3026, "error", "A dim must be a non-negative integer, got {0}."),
  Slice_step_zero: m(3027, "error", "A slice step cannot be zero."),
  Reduction_0_needs_1_body: m(3028, "error", "Reduction '{0}' needs a {1} body, got {2}."),
  Argreduce_one_variable_0: m(3029, "error", "'{0}' reduces over exactly one index variable."),
  Operand_of_0_must_be_1_got_2: m(3030, "error", "The operand of '{0}' must be {1}, got {2}."),
  Einsum_spec_invalid_0: m(3031, "error", "Invalid einsum spec: {0}."),
  Cannot_convert_0_to_1: m(3032, "error", "Cannot convert {0} to {1} implicitly; use cast()."),
  Head_count_0_does_not_divide_1: m(3033, "error", "{0} heads do not divide the width {1}."),
  Compile_time_value_expected_0: m(3034, "error", "'{0}' must be known at compile time."),
  Blocks_shape_0_for_queries_1: m(3035, "error", "The route tensor {0} does not fit the queries {1}: {2}."),
  Value_out_of_range_0_1: m(3036, "error", "{0} is out of range: {1}."),
  Integer_0_too_large: m(3037, "error", "The integer {0} is too large; compile-time integers must be at most 2^53 - 1 in magnitude."),

  // 4xxx — targets and capabilities
  Target_0_does_not_support_1: m(4001, "error", "Target '{0}' does not support {1}."),
  Unknown_target_0: m(4002, "error", "Unknown target '{0}'; expected wgsl or cuda."),
  Schedule_directive_ignored_0: m(4003, "warning", "Schedule directive '{0}' is not understood and is ignored."),
  Target_0_not_available_yet_1: m(4004, "error", "Target '{0}' is not available yet; {1}."),
  Kernel_0_exceeds_1_2_3: m(4005, "error", "Kernel '{0}' exceeds the device limit {1}: it needs {2}, the target ({3}) allows {4}; {5}."),
  Fallback_chosen_0: m(4006, "info", "{0}"),
  Wgsl_has_no_bf16_0: m(4007, "warning", "WGSL has no bf16 type: '{0}' runs on the f32 path (values held as f32 and rounded to bf16 after every op)."),
  Invalid_limits_0_1: m(4008, "error", "Invalid target limits '{0}': {1}."),

  // 5xxx — runtime
  Index_out_of_range_at_run_time_0: m(5001, "error", "A data-dependent index was out of range at run time in {0}; reads yielded 0 and writes were dropped."),
  Input_0_missing: m(5002, "error", "Input '{0}' is missing."),
  Input_0_shape_1_expected_2: m(5003, "error", "Input '{0}' has shape {1}, expected {2}."),
  Input_0_dtype_1_expected_2: m(5004, "error", "Input '{0}' has dtype {1}, expected {2}."),
  Cannot_read_0_1: m(5005, "error", "Cannot read '{0}': {1}"),
  Backend_0_unavailable_1: m(5006, "error", "Backend '{0}' is unavailable: {1}"),
  Dim_0_unbound_at_run_time: m(5007, "error", "Dim '{0}' is not determined by the inputs; pass -D {0}=value."),
  Output_0_of_1_differs_2: m(5008, "error", "Output '{0}' of backend '{1}' differs from the reference interpreter: {2}."),
  Run_failed_on_0_1: m(5009, "error", "The run on backend '{0}' failed: {1}"),

  // 9xxx — internal
  Internal_error_in_0_1: m(9001, "error", "Internal compiler error in {0}: {1}"),
} as const satisfies Record<string, Message>;

export function formatMessage(msg: Message, args: readonly unknown[]): string {
  return msg.text.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)] ?? ""));
}
