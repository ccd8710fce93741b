<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>ChecksEditor</name>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>总计</translation>
    </message>
    <message>
        <source>Of (table.column)</source>
        <translation>求和项（表.列）</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Left</source>
        <translation>左值</translation>
    </message>
    <message>
        <source>Op</source>
        <translation>运算符</translation>
    </message>
    <message>
        <source>Right</source>
        <translation>右值</translation>
    </message>
    <message>
        <source>Tolerance</source>
        <translation>容差</translation>
    </message>
    <message>
        <source>Add check</source>
        <translation>添加校验</translation>
    </message>
    <message>
        <source>Remove check</source>
        <translation>删除校验</translation>
    </message>
</context>
<context>
    <name>FieldEditor</name>
    <message>
        <source>Select a box, or draw one (F: field, A: anchor, T: table)</source>
        <translation>选择一个框，或画一个新框（F：字段，A：锚点，T：表格）</translation>
    </message>
    <message>
        <source>personal data (patient name, ID)</source>
        <translation>个人信息（患者姓名、ID）</translation>
    </message>
    <message>
        <source>part of the record identity</source>
        <translation>属于记录标识</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Box x, y, w, h</source>
        <translation>框 x, y, 宽, 高</translation>
    </message>
    <message>
        <source>Row height</source>
        <translation>行高</translation>
    </message>
    <message>
        <source>Header height</source>
        <translation>表头高度</translation>
    </message>
    <message>
        <source>Max rows</source>
        <translation>最多行数</translation>
    </message>
    <message>
        <source>Min rows</source>
        <translation>最少行数</translation>
    </message>
    <message>
        <source>Column</source>
        <translation>列</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <source>Regex</source>
        <translation>正则表达式</translation>
    </message>
    <message>
        <source>Range min..max</source>
        <translation>范围 最小..最大</translation>
    </message>
    <message>
        <source>Choices</source>
        <translation>可选值</translation>
    </message>
    <message>
        <source>Add column</source>
        <translation>添加列</translation>
    </message>
    <message>
        <source>Remove column</source>
        <translation>删除列</translation>
    </message>
    <message>
        <source>Columns from gaps</source>
        <translation>按间隙分列</translation>
    </message>
    <message>
        <source>optional: text confirmed by OCR</source>
        <translation>可选：由 OCR 确认的文字</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>文字</translation>
    </message>
    <message>
        <source>Weight</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>Anchor</source>
        <translation>锚点</translation>
    </message>
    <message>
        <source>Table field</source>
        <translation>表格字段</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Edit box</source>
        <translation>编辑框</translation>
    </message>
</context>
<context>
    <name>FlowPanel</name>
    <message>
        <source>title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>New flow</source>
        <translation>新建流程</translation>
    </message>
    <message>
        <source>Open flow…</source>
        <translation>打开流程…</translation>
    </message>
    <message>
        <source>Save flow…</source>
        <translation>保存流程…</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>录制</translation>
    </message>
    <message>
        <source>Record clicks and keys on the screen (Ctrl+R); clicks in this window are ignored</source>
        <translation>录制屏幕上的点击和按键 (Ctrl+R)；本窗口内的点击不录制</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>单步</translation>
    </message>
    <message>
        <source>Replay the highlighted step (F10)</source>
        <translation>回放高亮的步骤 (F10)</translation>
    </message>
    <message>
        <source>Run to end</source>
        <translation>运行到结束</translation>
    </message>
    <message>
        <source>Rewind</source>
        <translation>从头开始</translation>
    </message>
    <message>
        <source>dry run</source>
        <translation>演练（不发送输入）</translation>
    </message>
    <message>
        <source>Flow id</source>
        <translation>流程 ID</translation>
    </message>
    <message>
        <source>Delete step</source>
        <translation>删除步骤</translation>
    </message>
    <message>
        <source>Add wait before</source>
        <translation>在前面加等待</translation>
    </message>
    <message>
        <source>Wait until this step's target appears (instead of a fixed delay)</source>
        <translation>等待此步骤的目标出现（代替固定延时）</translation>
    </message>
    <message>
        <source>The selected step as YAML</source>
        <translation>所选步骤（YAML）</translation>
    </message>
    <message>
        <source>Apply step</source>
        <translation>应用步骤</translation>
    </message>
    <message>
        <source>next step to replay</source>
        <translation>下一个要回放的步骤</translation>
    </message>
    <message>
        <source>a step is a mapping with one action key</source>
        <translation>一个步骤是只含一个动作键的映射</translation>
    </message>
    <message>
        <source>Not applied: %1</source>
        <translation>未应用：%1</translation>
    </message>
    <message>
        <source>Step %1 changed</source>
        <translation>第 %1 步已修改</translation>
    </message>
    <message>
        <source>Only a step with an image target can be waited for</source>
        <translation>只有以图像为目标的步骤才能等待</translation>
    </message>
    <message>
        <source>Cannot open the flow: %1</source>
        <translation>无法打开流程：%1</translation>
    </message>
    <message>
        <source>The flow is not valid: %1</source>
        <translation>流程无效：%1</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Open a flow</source>
        <translation>打开流程</translation>
    </message>
    <message>
        <source>Flows (*.yaml *.yml)</source>
        <translation>流程 (*.yaml *.yml)</translation>
    </message>
    <message>
        <source>Save the flow</source>
        <translation>保存流程</translation>
    </message>
    <message>
        <source>Flows (*.yaml)</source>
        <translation>流程 (*.yaml)</translation>
    </message>
    <message>
        <source>Cannot record: %1</source>
        <translation>无法录制：%1</translation>
    </message>
    <message>
        <source>Recording: click and type in the program; press Record again to stop</source>
        <translation>录制中：请在程序中点击和输入；再按“录制”停止</translation>
    </message>
    <message>
        <source>Recorded %1 steps</source>
        <translation>已录制 %1 个步骤</translation>
    </message>
    <message>
        <source>Step %1 is not valid: %2</source>
        <translation>第 %1 步无效：%2</translation>
    </message>
    <message>
        <source>Running step %1…</source>
        <translation>正在运行第 %1 步…</translation>
    </message>
    <message>
        <source>Step %1 done</source>
        <translation>第 %1 步完成</translation>
    </message>
    <message>
        <source>Step %1 failed: %2</source>
        <translation>第 %1 步失败：%2</translation>
    </message>
</context>
<context>
    <name>ItemsPanel</name>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>文字</translation>
    </message>
    <message>
        <source>anchor</source>
        <translation>锚点</translation>
    </message>
    <message>
        <source>value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>table</source>
        <translation>表格</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>Confidence</source>
        <translation>置信度</translation>
    </message>
    <message>
        <source>Valid</source>
        <translation>有效</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>qcedge teach</source>
        <translation>qcedge 示教</translation>
    </message>
    <message>
        <source>Fields</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Template</source>
        <translation>模板</translation>
    </message>
    <message>
        <source>Checks</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>Editor</source>
        <translation>编辑器</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Proposals</source>
        <translation>建议</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>测试</translation>
    </message>
    <message>
        <source>Flow</source>
        <translation>流程</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>工具</translation>
    </message>
    <message>
        <source>Open source…</source>
        <translation>打开来源…</translation>
    </message>
    <message>
        <source>Open live source…</source>
        <translation>打开实时来源…</translation>
    </message>
    <message>
        <source>Open template…</source>
        <translation>打开模板…</translation>
    </message>
    <message>
        <source>Save template</source>
        <translation>保存模板</translation>
    </message>
    <message>
        <source>Save template as…</source>
        <translation>模板另存为…</translation>
    </message>
    <message>
        <source>Open template pack…</source>
        <translation>打开模板包…</translation>
    </message>
    <message>
        <source>Add to template pack…</source>
        <translation>加入模板包…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Delete box</source>
        <translation>删除框</translation>
    </message>
    <message>
        <source>Select / move</source>
        <translation>选择/移动</translation>
    </message>
    <message>
        <source>Draw anchor</source>
        <translation>画锚点</translation>
    </message>
    <message>
        <source>Draw field</source>
        <translation>画字段</translation>
    </message>
    <message>
        <source>Draw table</source>
        <translation>画表格</translation>
    </message>
    <message>
        <source>Select tool</source>
        <translation>选择工具</translation>
    </message>
    <message>
        <source>Snap boxes to text</source>
        <translation>框贴合文字</translation>
    </message>
    <message>
        <source>Propose fields</source>
        <translation>提议字段</translation>
    </message>
    <message>
        <source>Read all fields</source>
        <translation>读取全部字段</translation>
    </message>
    <message>
        <source>Test on frames…</source>
        <translation>在画面上测试…</translation>
    </message>
    <message>
        <source>Test on a recording…</source>
        <translation>在录像上测试…</translation>
    </message>
    <message>
        <source>Freeze frame</source>
        <translation>冻结画面</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>放大</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>缩小</translation>
    </message>
    <message>
        <source>Fit frame</source>
        <translation>适应窗口</translation>
    </message>
    <message>
        <source>Previous frame</source>
        <translation>上一帧</translation>
    </message>
    <message>
        <source>Next frame</source>
        <translation>下一帧</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Template</source>
        <translation>模板(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>Move box</source>
        <translation>移动框</translation>
    </message>
    <message>
        <source>Cannot open the source</source>
        <translation>无法打开来源</translation>
    </message>
    <message>
        <source>Still image</source>
        <translation>图片</translation>
    </message>
    <message>
        <source>Folder of stills</source>
        <translation>图片文件夹</translation>
    </message>
    <message>
        <source>Video file</source>
        <translation>视频文件</translation>
    </message>
    <message>
        <source>DICOM screen save</source>
        <translation>DICOM 屏幕存档</translation>
    </message>
    <message>
        <source>Live source</source>
        <translation>实时来源</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <source>Cannot read the frame</source>
        <translation>无法读取画面</translation>
    </message>
    <message>
        <source>The live source stopped</source>
        <translation>实时来源已停止</translation>
    </message>
    <message>
        <source>Frame frozen</source>
        <translation>画面已冻结</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>实时</translation>
    </message>
    <message>
        <source>Open a still, video or DICOM file</source>
        <translation>打开图片、视频或 DICOM 文件</translation>
    </message>
    <message>
        <source>Frames (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.mp4 *.avi *.mkv *.mov *.dcm);;All files (*)</source>
        <translation>画面 (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.mp4 *.avi *.mkv *.mov *.dcm);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Open a live source</source>
        <translation>打开实时来源</translation>
    </message>
    <message>
        <source>Source (screen, screen:1, device:0, udp://…, rtsp://…, a folder):</source>
        <translation>来源（screen、screen:1、device:0、udp://…、rtsp://…、文件夹）：</translation>
    </message>
    <message>
        <source>Cannot open the template</source>
        <translation>无法打开模板</translation>
    </message>
    <message>
        <source>Open a template</source>
        <translation>打开模板</translation>
    </message>
    <message>
        <source>Templates (*.yaml *.yml)</source>
        <translation>模板 (*.yaml *.yml)</translation>
    </message>
    <message>
        <source>Save the template</source>
        <translation>保存模板</translation>
    </message>
    <message>
        <source>Templates (*.yaml)</source>
        <translation>模板 (*.yaml)</translation>
    </message>
    <message>
        <source>The template is not valid yet</source>
        <translation>模板尚不完整</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Cannot open the template pack</source>
        <translation>无法打开模板包</translation>
    </message>
    <message>
        <source>Template pack %1 version %2</source>
        <translation>模板包 %1 版本 %2</translation>
    </message>
    <message>
        <source>Template to edit:</source>
        <translation>要编辑的模板：</translation>
    </message>
    <message>
        <source>Open a template pack folder</source>
        <translation>打开模板包文件夹</translation>
    </message>
    <message>
        <source>Template pack folder</source>
        <translation>模板包文件夹</translation>
    </message>
    <message>
        <source>Pack version</source>
        <translation>模板包版本</translation>
    </message>
    <message>
        <source>Version of the pack:</source>
        <translation>模板包版本：</translation>
    </message>
    <message>
        <source>Cannot write the template pack</source>
        <translation>无法写入模板包</translation>
    </message>
    <message>
        <source>Open a frame first (Ctrl+O)</source>
        <translation>请先打开画面 (Ctrl+O)</translation>
    </message>
    <message>
        <source>Add box</source>
        <translation>添加框</translation>
    </message>
    <message>
        <source>Read: «%1» → %2, confidence %3 %4</source>
        <translation>识别：«%1» → %2，置信度 %3 %4</translation>
    </message>
    <message>
        <source>live OCR %1 ms</source>
        <translation>实时识别 %1 毫秒</translation>
    </message>
    <message>
        <source>Cannot read the template</source>
        <translation>无法读取模板</translation>
    </message>
    <message>
        <source>Checks: %1</source>
        <translation>校验：%1</translation>
    </message>
    <message>
        <source>Detecting text on the frame…</source>
        <translation>正在检测画面上的文字…</translation>
    </message>
    <message>
        <source>Propose failed</source>
        <translation>提议失败</translation>
    </message>
    <message numerus="yes">
        <source>%n proposal(s)</source>
        <translation>
            <numerusform>%n 条建议</numerusform></translation>
    </message>
    <message>
        <source>Accept proposals</source>
        <translation>采纳建议</translation>
    </message>
    <message>
        <source>Folder of frames to test on</source>
        <translation>用于测试的画面文件夹</translation>
    </message>
    <message>
        <source>Recording to test on</source>
        <translation>用于测试的录像</translation>
    </message>
    <message>
        <source>Recordings (*.mp4 *.avi *.mkv *.mov *.ts);;All files (*)</source>
        <translation>录像 (*.mp4 *.avi *.mkv *.mov *.ts);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Testing on %1…</source>
        <translation>正在测试 %1…</translation>
    </message>
    <message>
        <source>The test failed</source>
        <translation>测试失败</translation>
    </message>
    <message>
        <source>%1 frames: %2 matched (%3 complete, %4 need review), %5 did not match, %6 errors</source>
        <translation>%1 帧：%2 帧匹配（%3 帧完整，%4 帧需复核），%5 帧未匹配，%6 帧出错</translation>
    </message>
    <message>
        <source>no match</source>
        <translation>未匹配</translation>
    </message>
    <message>
        <source>score %1</source>
        <translation>得分 %1</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>The language changes when qcedge teach starts next time.</source>
        <translation>下次启动 qcedge teach 时切换语言。</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <source>Save the template before closing?</source>
        <translation>关闭前保存模板吗？</translation>
    </message>
</context>
<context>
    <name>ProposalsPanel</name>
    <message>
        <source>Propose (Ctrl+P) detects all text on the frame and offers label/value pairs.</source>
        <translation>提议 (Ctrl+P) 会检测画面上的全部文字，并给出“标签/数值”对。</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Value text</source>
        <translation>数值文字</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <source>Accept all</source>
        <translation>全部采纳</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>采纳</translation>
    </message>
    <message numerus="yes">
        <source>%n proposal(s): click Accept to add one as a field.</source>
        <translation>
            <numerusform>%n 条建议：点击“采纳”将其添加为字段。</numerusform></translation>
    </message>
</context>
<context>
    <name>SourcePanel</name>
    <message>
        <source>No source</source>
        <translation>未打开来源</translation>
    </message>
    <message>
        <source>Freeze</source>
        <translation>冻结</translation>
    </message>
    <message>
        <source>live</source>
        <translation>实时</translation>
    </message>
</context>
<context>
    <name>TemplateForm</name>
    <message>
        <source>Template id</source>
        <translation>模板 ID</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>Program</source>
        <translation>程序</translation>
    </message>
    <message>
        <source>Screen</source>
        <translation>界面</translation>
    </message>
    <message>
        <source>Modality</source>
        <translation>检查类型</translation>
    </message>
    <message>
        <source>Confidence floor</source>
        <translation>置信度下限</translation>
    </message>
    <message>
        <source>Match threshold</source>
        <translation>匹配阈值</translation>
    </message>
</context>
<context>
    <name>TestPanel</name>
    <message>
        <source>Test (Ctrl+T) runs the template over a folder of frames or a recording.</source>
        <translation>测试 (Ctrl+T) 用模板读取一个画面文件夹或一段录像。</translation>
    </message>
    <message>
        <source>Frame</source>
        <translation>画面</translation>
    </message>
    <message>
        <source>Match</source>
        <translation>匹配</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Checks</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>No failed fields in this frame.</source>
        <translation>此帧没有失败的字段。</translation>
    </message>
</context>
<context>
    <name>ValueSpecForm</name>
    <message>
        <source>min</source>
        <translation>最小</translation>
    </message>
    <message>
        <source>max</source>
        <translation>最大</translation>
    </message>
    <message>
        <source>comma separated (enum)</source>
        <translation>逗号分隔（枚举）</translation>
    </message>
    <message>
        <source>required</source>
        <translation>必填</translation>
    </message>
    <message>
        <source>fix O/0, l/1, S/5 confusions</source>
        <translation>纠正 O/0、l/1、S/5 混淆</translation>
    </message>
    <message>
        <source>template default</source>
        <translation>模板默认值</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <source>Regex</source>
        <translation>正则表达式</translation>
    </message>
    <message>
        <source>Range</source>
        <translation>范围</translation>
    </message>
    <message>
        <source>Allowed characters</source>
        <translation>允许字符</translation>
    </message>
    <message>
        <source>Choices</source>
        <translation>可选值</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>Confidence floor</source>
        <translation>置信度下限</translation>
    </message>
</context>
</TS>