"""The sqlglot node classes the analysis models, reviewed against sqlglot 30.30.0.

A class not listed here and not in ``allowlist.REPORTED`` is reported as ``unmodelled_node``
wherever it appears: a construct a newer sqlglot adds is a SYS-01 until it is reviewed and added
(tests/analysis/test_allowlist.py fails on any class in neither list). Being listed means every
node of the class is either followed by the analysis (queries, columns, functions over columns,
DDL options that carry no data) or checked by a rule in ``allowlist`` where it stands.
"""

_NAMES = """
    AIAgg AIClassify AIEmbed AIForecast AIGenerate AISimilarity AISummarizeAgg Abs Acos Acosh Add
    AddConstraint AddMonths AddPartition Adjacent Agg AggFunc AggregateKeyProperty AlgorithmProperty
    Alias Aliases All AllowedValuesProperty Alter AlterColumn AlterDistStyle AlterIndex
    AlterModifySqlSecurity AlterRename AlterSession AlterSet AlterSortKey Analyze AnalyzeColumns
    AnalyzeDelete AnalyzeHistogram AnalyzeListChainedRows AnalyzeSample AnalyzeStatistics
    AnalyzeValidate AnalyzeWith And Anonymous AnonymousAggFunc Any AnyValue ApiProperty
    ApplicationProperty Apply ApproxDistinct ApproxPercentileAccumulate ApproxPercentileCombine
    ApproxPercentileEstimate ApproxQuantile ApproxQuantiles ApproxTopK ApproxTopKAccumulate
    ApproxTopKCombine ApproxTopKEstimate ApproxTopSum ApproximateSimilarity ArgMax ArgMin Array ArrayAgg
    ArrayAll ArrayAny ArrayAppend ArrayCompact ArrayConcat ArrayConcatAgg ArrayConstructCompact
    ArrayContainedBy ArrayContains ArrayContainsAll ArrayDistinct ArrayExcept ArrayFilter ArrayFirst
    ArrayInsert ArrayIntersect ArrayLast ArrayMax ArrayMin ArrayOverlaps ArrayPosition ArrayPrepend
    ArrayRemove ArrayRemoveAt ArrayReverse ArraySize ArraySlice ArraySort ArraySum ArrayToString
    ArrayUnionAgg ArrayUniqueAgg ArraysZip Ascii Asin Asinh AssumeColumnConstraint AtIndex AtTimeZone
    Atan Atan2 Atanh Attach AttachOption AutoIncrementColumnConstraint AutoIncrementProperty
    AutoRefreshProperty Avg BackupProperty Base64DecodeBinary Base64DecodeString Base64Encode Between
    Binary BinaryColumnConstraint BitLength BitString BitmapBitPosition BitmapBucketNumber
    BitmapConstructAgg BitmapCount BitmapOrAgg BitwiseAnd BitwiseAndAgg BitwiseCount BitwiseLeftShift
    BitwiseNot BitwiseOr BitwiseOrAgg BitwiseRightShift BitwiseXor BitwiseXorAgg
    BlockCompressionProperty Booland Boolean Boolnot Boolor BoolxorAgg Bracket BuildProperty ByteLength
    ByteString CTE Cache CalledOnNullInputProperty Case CaseSpecificColumnConstraint CaseStatement Cast
    CastToStrType CatalogProperty Cbrt Ceil Changes CharacterSet CharacterSetColumnConstraint
    CharacterSetProperty Check CheckColumnConstraint CheckJson CheckXml ChecksumProperty Chr CityHash64
    Clone Cluster ClusterProperty ClusteredByProperty ClusteredColumnConstraint Coalesce
    CodePointsToBytes CodePointsToString Collate CollateColumnConstraint CollateProperty Collation
    Column ColumnConstraint ColumnConstraintKind ColumnDef ColumnPosition ColumnPrefix Columns
    CombinedAggFunc CombinedParameterizedAgg Comment CommentColumnConstraint Commit Comprehension
    Compress CompressColumnConstraint ComputeProperty ComputedColumnConstraint Concat ConcatWs Condition
    ConditionalInsert Connect ConnectByRoot Connector Constraint Contains Convert ConvertTimezone
    ConvertToCharset CopyGrantsProperty CopyParameter CopyTagsProperty Corr Cos Cosh CosineDistance Cot
    Coth Count CountIf CovarPop CovarSamp Create Credentials CredentialsProperty Csc Csch Cube CumeDist
    CurrentAccount CurrentAccountName CurrentAvailableRoles CurrentCatalog CurrentClient CurrentDatabase
    CurrentDate CurrentDatetime CurrentIpAddress CurrentOrganizationName CurrentOrganizationUser
    CurrentRegion CurrentRole CurrentRoleType CurrentSchema CurrentSchemas CurrentSecondaryRoles
    CurrentSession CurrentStatement CurrentTime CurrentTimestamp CurrentTimestampLTZ CurrentTimezone
    CurrentTransaction CurrentUser CurrentUserId CurrentVersion CurrentWarehouse DDL DML DPipe
    DataBlocksizeProperty DataDeletionProperty DataType DataTypeParam DatabaseProperty Date DateAdd
    DateBin DateDiff DateFormatColumnConstraint DateFromParts DateFromUnixDate DateStrToDate DateSub
    DateToDateStr DateToDi DateTrunc Datetime DatetimeAdd DatetimeDiff DatetimeSub DatetimeTrunc Day
    DayOfMonth DayOfWeek DayOfWeekIso DayOfYear Dayname Decode DecodeCase DecompressBinary
    DecompressString Decrypt DecryptRaw DefaultColumnConstraint DefinerProperty Degrees Delete DenseRank
    DerivedTable Describe Detach DiToDate DictProperty DictRange DictSubProperty Directory
    DirectoryStage Disconnect DistKeyProperty DistStyleProperty Distance DistanceNd Distinct Distribute
    DistributedByProperty Div Dot DotProduct Drop DropPartition DropPrimaryKey DuplicateKeyProperty
    DynamicProperty EQ Elt EmptyProperty Encode EncodeColumnConstraint EncodeProperty Encrypt EncryptRaw
    EndsWith EngineProperty EnviromentProperty EphemeralColumnConstraint EqualNull Escape
    EuclideanDistance Except ExcludeColumnConstraint ExecuteAsProperty Exists Exp Explode ExplodeOuter
    ExplodingGenerateSeries Expr Expression ExtendsLeft ExtendsRight ExternalProperty Extract Factorial
    FallbackProperty FarmFingerprint FeaturesAtTime Fetch FileFormatProperty Filter Final First
    FirstValue Flatten Float64 Floor ForClause ForceProperty ForeignKey Format FormatJson FormatPhrase
    FreespaceProperty From FromBase FromBase32 FromBase64 FromISO8601Date FromISO8601Timestamp
    FromISO8601TimestampNanos FromJson FromTimeZone Func FunctionSpecification GT GTE GapFill
    GenerateBool GenerateDateArray GenerateDouble GenerateEmbedding GenerateInt GenerateSeries
    GenerateTable GenerateText GenerateTimestampArray GeneratedAsIdentityColumnConstraint
    GeneratedAsRowColumnConstraint Generator GetExtract GetIgnoreCase Getbit Glob GlobalProperty Grant
    GrantPrincipal GrantPrivilege Greatest Group GroupConcat Grouping GroupingId GroupingSets
    HandlerProperty HashAgg Having HavingMax HeapProperty Heredoc Hex HexDecodeString HexString Hint
    HistoricalData Hll Host Hour HybridProperty ILike IcebergProperty Identifier If IgnoreGrantsProperty
    IgnoreNulls In InOutColumnConstraint IncludeProperty Index IndexColumnConstraint
    IndexConstraintOption IndexParameters IndexTableHint InheritsProperty Initcap Inline
    InlineLengthColumnConstraint InputModelProperty InputOutputFormat Insert Install Int64 IntDiv
    InteractiveProperty Intersect Interval IntervalOp IntervalSpan Into Introducer
    InvisibleColumnConstraint Is IsArray IsAscii IsInf IsNan IsNullValue IsolatedLoadingProperty JSON
    JSONArray JSONArrayAgg JSONArrayAppend JSONArrayContains JSONArrayInsert JSONBContains
    JSONBContainsAllTopKeys JSONBContainsAnyTopKeys JSONBContainsTopKey JSONBDeleteAtPath JSONBExists
    JSONBExtract JSONBExtractScalar JSONBObjectAgg JSONBPathExists JSONBool JSONCast JSONColumnDef
    JSONExists JSONExtract JSONExtractArray JSONExtractQuote JSONExtractScalar JSONFormat JSONKeyValue
    JSONKeys JSONKeysAtDepth JSONObject JSONObjectAgg JSONPath JSONPathFilter JSONPathKey JSONPathPart
    JSONPathRecursive JSONPathRoot JSONPathScript JSONPathSelector JSONPathSlice JSONPathSubscript
    JSONPathUnion JSONPathWildcard JSONRemove JSONSchema JSONSet JSONStripNulls JSONTable JSONType
    JSONValue JSONValueArray JarowinklerSimilarity Join JoinHint JournalProperty JustifyDays
    JustifyHours JustifyInterval Kurtosis Kwarg LT LTE Lag Lambda LanguageProperty Last LastDay
    LastValue Lateral LaxBool LaxFloat64 LaxInt64 LaxString Lead Least Left Length Levenshtein Like
    LikeProperty Limit LimitOptions List ListStage Literal Ln Localtime Localtimestamp LocationProperty
    Lock LockProperty LockingProperty LockingStatement Log LogProperty LogicalAnd LogicalOr Lower
    LowerHex MD5 MD5Digest MD5NumberLower64 MD5NumberUpper64 MLForecast MLTranslate MakeInterval
    ManhattanDistance Map MapCat MapContainsKey MapDelete MapFromEntries MapInsert MapKeys MapPick
    MapSize MaskingPolicyColumnConstraint MaskingProperty Match MatchAgainst MatchRecognizeMeasure
    MaterializedProperty Max Median Merge MergeBlockRatioProperty MergeTreeTTL MergeTreeTTLAction Min
    Minhash MinhashCombine Minute Mod Mode ModelAttribute ModifyColumn ModuleProperty Month Monthname
    MonthsBetween Mul MultitableInserts NEQ Nanvl National Nearest Neg Negative NestedJSONSelect NetFunc
    NetworkProperty NextDay NextValueFor NoPrimaryIndexProperty NonClusteredColumnConstraint Normal
    Normalize Not NotForReplicationColumnConstraint NotNullColumnConstraint NthValue Ntile Null
    NullSafeEQ NullSafeNEQ Nullif NumberToStr Nvl2 ObjectAgg ObjectId ObjectIdentifier ObjectInsert
    ObjectTransform Offset OnCluster OnCommitProperty OnCondition OnConflict OnProperty
    OnUpdateColumnConstraint Opclass OpenJSON OpenJSONColumnDef Operator OptionsProperty Or Order
    Ordered OutputModelProperty OverflowTruncateBehavior Overlaps Overlay Pad Parameter
    ParameterStyleProperty ParameterizedAgg Paren ParseBignumeric ParseDatetime ParseIp ParseJSON
    ParseNumeric ParseTime ParseUrl Partition PartitionBoundSpec PartitionByExcluding
    PartitionByListProperty PartitionByRangeProperty PartitionByRangePropertyDynamic PartitionByTruncate
    PartitionId PartitionList PartitionRange PartitionedByBucket PartitionedByProperty
    PartitionedOfProperty PathColumnConstraint Per PercentRank PercentileCont PercentileDisc
    PeriodForSystemTimeConstraint PhysicalProperty Pi Pivot PivotAlias PivotAny Placeholder Posexplode
    PosexplodeOuter PositionalColumn Pow Pragma PreWhere Predicate Predict PreviousDay PrimaryKey
    PrimaryKeyColumnConstraint Prior ProjectionDef ProjectionPolicyColumnConstraint Properties Property
    PropertyEQ PseudoType Pseudocolumn Qualify Quantile Quarter Query QueryBand QueryOption Radians Rand
    Randn Randstr RangeBucket RangeN Rank RawString ReadCSV ReadParquet RecursiveWithSearch Reduce
    Reference Refresh RefreshTriggerProperty RegDomain RegexpCount RegexpExtract RegexpExtractAll
    RegexpFullMatch RegexpILike RegexpInstr RegexpLike RegexpReplace RegexpSplit RegexpSubstr RegrAvgx
    RegrAvgy RegrCount RegrIntercept RegrR2 RegrSlope RegrSxx RegrSxy RegrSyy RegrValx RegrValy
    RemoteWithConnectionModelProperty RenameColumn RenameIndex Repeat Replace ReplaceColumns
    ReplacePartition RespectNulls Returning ReturnsProperty Reverse Revoke Right Rint Rollback Rollup
    RollupIndex RollupProperty Round RowAccessProperty RowFormatDelimitedProperty RowFormatProperty
    RowFormatSerdeProperty RowNumber RtrimmedLength SHA SHA1Digest SHA2 SHA2Digest SafeAdd
    SafeConvertBytesToString SafeDivide SafeFunc SafeMultiply SafeNegate SafeSubtract SampleProperty
    Schema SchemaCommentProperty ScopeResolution Search SearchIp Sec Sech Second Secret SecureProperty
    SecurityIntegrationProperty Select Selectable Semicolon Seq1 Seq2 Seq4 Seq8 SequenceProperties
    SerdeProperties SessionParameter SessionUser Set SetConfigProperty SetItem SetOperation SetProperty
    SettingsProperty SharingProperty Show Shuffle Sign SimilarTo Sin Sinh Skewness SkipJSONColumn Slice
    Sort SortKeyProperty Soundex SoundexP123 Space Split SplitPart SplitToTable SqlReadWriteProperty
    SqlSecurityProperty Sqrt StDistance StPoint StabilityProperty Stack StandardHash Star StarMap
    StartsWith Stddev StddevPop StddevSamp StorageHandlerProperty StorageProperty StrPosition StrToDate
    StrToMap StrToTime StrToUnix Stream StreamingTableProperty StrictProperty String StringToArray
    StripNullValue Strtok StrtokSplitToTable StrtokToArray Struct StructExtract Stuff Sub Subquery
    SubqueryPredicate Substring SubstringIndex Sum SwapTable Systimestamp Table TableAlias TableColumn
    TableSample TableSpaceProperty Tag Tags Tan Tanh TemporaryProperty Time TimeAdd TimeDiff
    TimeFromParts TimeSlice TimeStrToDate TimeStrToTime TimeStrToUnix TimeSub TimeToStr TimeToTimeStr
    TimeToUnix TimeTrunc TimeUnit TimeseriesKey Timestamp TimestampAdd TimestampDiff TimestampFromParts
    TimestampLtzFromParts TimestampSub TimestampTrunc TimestampTzFromParts TitleColumnConstraint ToArray
    ToBase32 ToBase64 ToBinary ToBoolean ToChar ToCodePoints ToDays ToDecfloat ToDouble ToFile ToMap
    ToNumber ToTableProperty ToVariant Transaction Transform TransformModelProperty TransientProperty
    Translate TranslateCharacters TriggerEvent TriggerExecute TriggerProperties TriggerReferencing Trim
    Trunc TruncateTable Try TryBase64DecodeBinary TryBase64DecodeString TryCast TryHexDecodeBinary
    TryHexDecodeString TryToDecfloat TsOrDiToDi TsOrDsAdd TsOrDsDiff TsOrDsToDate TsOrDsToDateStr
    TsOrDsToDatetime TsOrDsToTime TsOrDsToTimestamp Tuple Typeof UDTF Unary Uncache Undrop Unhex Unicode
    UnicodeString Uniform Union UniqueColumnConstraint UniqueKeyProperty UnixDate UnixMicros UnixMillis
    UnixSeconds UnixToStr UnixToTime UnixToTimeStr UnloggedProperty Unnest UnpivotColumns Update Upper
    UppercaseColumnConstraint Use UsingData UsingProperty UsingTemplateProperty UtcDate UtcTime
    UtcTimestamp Uuid UuidProperty Values Var VarMap Variadic Variance VariancePop VectorSearch Version
    ViewAttributeProperty VirtualProperty VolatileProperty WatermarkColumnConstraint Week WeekOfYear
    WeekStart WeightString When Whens Where WidthBucket Window WindowSpec With WithDataProperty WithFill
    WithJournalTableProperty WithOperator WithProcedureOptions WithSchemaBindingProperty
    WithSystemVersioningProperty WithTableHint WithinGroup XMLElement XMLGet XMLKeyValueOption
    XMLNamespace XMLTable Xor Year YearOfWeek YearOfWeekIso ZeroFillColumnConstraint Zipf _ExplodeOuter
    _TimeUnit
"""
MODELLED = frozenset(_NAMES.split())
